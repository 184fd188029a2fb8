import BetterSqlite3 from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import type pg from 'pg'
import Cursor from 'pg-cursor'

import type { ServiceDatabase } from '../db/create-database.js'
import type { Database, Db, Dialect } from '../db/database.js'

/** A database handle held for the length of one export. */
export interface ExportHandle {
  readonly db: Db
  /** Give the handle back; call it after the export stream has closed (its cursor is released then). */
  release(): void
}

/** Where exports read from, chosen so that a long export never stalls the rest of the service. */
export interface ExportDatabase {
  readonly dialect: Dialect
  /** The pg pool for the COPY path; `undefined` on SQLite. */
  readonly pool: pg.Pool | undefined
  /** Short queries (the data version for the ETag). */
  readonly db: Db
  /** A handle to stream one export from. */
  acquire(): ExportHandle
}

/**
 * Build the export side of the service database.
 *
 * - PostgreSQL: a second Kysely over the service's pool whose dialect has `cursor: Cursor`
 *   (pg-cursor), which `.stream()` needs; each export takes one pooled connection. It is never
 *   destroyed, since that would end the shared pool.
 * - SQLite file: a fresh read-only better-sqlite3 handle per export. Kysely's SQLite driver runs one
 *   query at a time on its single connection, so streaming on the service's own handle would hold
 *   every other query of the API for the whole export; in WAL mode a second reader runs beside it.
 * - SQLite `:memory:`: only the service's handle can see the data, so exports share it.
 */
export function createExportDatabase(database: ServiceDatabase): ExportDatabase {
  const raw = database.raw
  if (raw.dialect === 'postgres') {
    const streaming = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: raw.pool, cursor: Cursor }),
    })
    return {
      dialect: 'postgres',
      pool: raw.pool,
      db: database.db,
      acquire: () => ({ db: streaming, release: () => {} }),
    }
  }
  const sqlite = raw.sqlite
  if (sqlite.memory) {
    return {
      dialect: 'sqlite',
      pool: undefined,
      db: database.db,
      acquire: () => ({ db: database.db, release: () => {} }),
    }
  }
  const filename = sqlite.name
  return {
    dialect: 'sqlite',
    pool: undefined,
    db: database.db,
    acquire: () => {
      const handle = new BetterSqlite3(filename, { readonly: true, fileMustExist: true })
      const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: handle }) })
      return { db, release: () => void db.destroy().catch(() => {}) }
    },
  }
}
