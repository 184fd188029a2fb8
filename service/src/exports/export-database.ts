import { Kysely, PostgresDialect, sql } from 'kysely'
import type pg from 'pg'
import Cursor from 'pg-cursor'

import { withSettlingClose } from '../../../src/stream/index.js'
import type { ServiceDatabase } from '../db/create-database.js'
import type { Database, Db, Dialect } from '../db/database.js'
import { createQueryPublisher } from '../db/query-channel.js'

/** Page cache of an SQLite export connection (negative: KiB), enough for B-tree interior pages. */
const EXPORT_SQLITE_CACHE_KIB = -2048

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
  acquire(): Promise<ExportHandle>
}

/**
 * The export side of the service database, on top of `database.openReader()`: on an SQLite file a
 * separate read-only connection per export (Kysely runs one query at a time on its single SQLite
 * connection, so a stream there would hold every other request for the whole export). On
 * PostgreSQL a Kysely of its own over the service's pool, whose dialect uses pg-cursor with
 * {@link withSettlingClose}: with the plain class, an export whose connection dies hangs forever
 * in `cursor.close()` and keeps its pool slot. Plus the raw pool for the COPY path.
 */
export function createExportDatabase(database: ServiceDatabase): ExportDatabase {
  const raw = database.raw
  if (raw.dialect === 'postgres') {
    const streaming: Db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: raw.pool, cursor: withSettlingClose(Cursor) }),
      log: createQueryPublisher('postgres'),
    })
    // Never destroyed: that would end the service's pool.
    return {
      dialect: 'postgres',
      pool: raw.pool,
      db: database.db,
      acquire: async () => ({ db: streaming, release: () => {} }),
    }
  }
  return {
    dialect: database.dialect,
    pool: undefined,
    db: database.db,
    acquire: async () => {
      const reader = await database.openReader()
      if (reader.db !== database.db) {
        // A full scan through a memory map leaves every page it touched in the process's RSS (up
        // to mmap_size, 256 MB), and a scan gains nothing from a large page cache: plain reads and
        // a small cache keep an export's footprint flat whatever the table size.
        await sql`pragma mmap_size = 0`.execute(reader.db)
        await sql`pragma cache_size = ${sql.raw(String(EXPORT_SQLITE_CACHE_KIB))}`.execute(reader.db)
      }
      return { db: reader.db, release: () => void reader.close().catch(() => {}) }
    },
  }
}
