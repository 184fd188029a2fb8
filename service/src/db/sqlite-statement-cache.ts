import type BetterSqlite3 from 'better-sqlite3'
import type { SqliteDatabase, SqliteStatement } from 'kysely'

/** How many distinct SQL strings keep a prepared statement. */
export const DEFAULT_STATEMENT_CACHE_SIZE = 500

/**
 * Wraps a better-sqlite3 handle for Kysely so that each distinct SQL string is prepared once.
 * Kysely's SQLite driver prepares on every query; preparing is a large share of a primary-key read.
 * Safe because Kysely runs one query at a time on its single SQLite connection.
 */
export class SqliteStatementCache implements SqliteDatabase {
  readonly #db: BetterSqlite3.Database
  readonly #statements = new Map<string, SqliteStatement>()
  readonly #maxSize: number

  constructor(db: BetterSqlite3.Database, maxSize = DEFAULT_STATEMENT_CACHE_SIZE) {
    this.#db = db
    this.#maxSize = maxSize
  }

  prepare(sql: string): SqliteStatement {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#db.prepare(sql) as unknown as SqliteStatement
      // Generated SQL (IN lists of varying length) must not grow the cache without bound.
      if (this.#statements.size >= this.#maxSize) {
        const oldest = this.#statements.keys().next().value
        if (oldest !== undefined) this.#statements.delete(oldest)
      }
      this.#statements.set(sql, statement)
    }
    return statement
  }

  close(): void {
    this.#statements.clear()
    this.#db.close()
  }
}
