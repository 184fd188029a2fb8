import type { PostgresCursor, PostgresPool, PostgresPoolClient } from 'kysely'
import type pg from 'pg'
import { translateAcquireError, translateQueryError } from './pool-errors.js'

/** How many distinct SQL strings get a named (prepared) statement; the rest run unnamed. */
export const DEFAULT_PREPARED_STATEMENT_LIMIT = 500

// Only these can be prepared; DDL and transaction control (migrations, BEGIN) run unnamed.
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i

/** Limits whose failures get their own error codes (see `pool-errors.ts`). */
export interface PgPoolLimits {
  /** The pool's `connectionTimeoutMillis`: a timed-out `connect()` becomes `E_DB_POOL_EXHAUSTED`. */
  acquireTimeoutMs?: number | undefined
  /** The connections' `statement_timeout`: a cancelled query becomes `E_DB_STATEMENT_TIMEOUT`. */
  statementTimeoutMs?: number | undefined
}

/**
 * Wraps a pg pool for Kysely so that each distinct DML statement is sent as a named prepared
 * statement: PostgreSQL parses and plans it once per connection instead of on every query.
 * Measured on a primary-key read: about half the round-trip time of an unnamed statement.
 * The SQL-to-name map is bounded, because generated SQL (IN lists of varying length) is unbounded.
 */
export class PgPreparedStatementPool implements PostgresPool {
  readonly #pool: pg.Pool
  readonly #names = new Map<string, string>()
  readonly #limit: number
  readonly #clients = new WeakMap<pg.PoolClient, PostgresPoolClient>()
  readonly #limits: PgPoolLimits

  constructor(pool: pg.Pool, limit = DEFAULT_PREPARED_STATEMENT_LIMIT, limits: PgPoolLimits = {}) {
    this.#pool = pool
    this.#limit = limit
    this.#limits = limits
  }

  async connect(): Promise<PostgresPoolClient> {
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (error) {
      throw translateAcquireError(error, this.#pool, this.#limits.acquireTimeoutMs ?? 0)
    }
    let wrapped = this.#clients.get(client)
    if (wrapped === undefined) {
      wrapped = this.#wrap(client)
      this.#clients.set(client, wrapped)
    }
    return wrapped
  }

  end(): Promise<void> {
    return this.#pool.end()
  }

  #nameFor(sql: string): string | undefined {
    let name = this.#names.get(sql)
    if (name === undefined && this.#names.size < this.#limit && PREPARABLE.test(sql)) {
      name = `hotpath_${this.#names.size + 1}`
      this.#names.set(sql, name)
    }
    return name
  }

  #wrap(client: pg.PoolClient): PostgresPoolClient {
    const query = (sqlOrCursor: string | PostgresCursor<unknown>, parameters?: ReadonlyArray<unknown>) => {
      if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as never)
      const name = this.#nameFor(sqlOrCursor)
      const values = parameters as unknown[]
      return client
        .query(name === undefined ? { text: sqlOrCursor, values } : { name, text: sqlOrCursor, values })
        .catch((error: unknown) => {
          throw translateQueryError(error, this.#limits.statementTimeoutMs)
        })
    }
    return {
      query: query as unknown as PostgresPoolClient['query'],
      release: (destroy?: boolean) => client.release(destroy),
    }
  }
}
