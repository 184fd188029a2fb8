import fs from 'node:fs'
import path from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import pg from 'pg'
import Cursor from 'pg-cursor'
import { withSettlingClose } from '../../../src/stream/index.js'
import type { DatabaseTarget } from '../config.js'
import type { Database, Db, Dialect } from './database.js'
import { migrateToLatest } from './migrations/index.js'
import { PgPreparedStatementPool } from './pg-prepared-statements.js'
import { createQueryPublisher } from './query-channel.js'
import { SqliteStatementCache } from './sqlite-statement-cache.js'

export const DEFAULT_POOL_SIZE = 10
/**
 * How long a query waits for a pooled PostgreSQL connection before failing with
 * `E_DB_POOL_EXHAUSTED` (503 + Retry-After): a fast, retryable answer instead of a queue that
 * grows until clients time out.
 */
export const DEFAULT_POOL_ACQUIRE_TIMEOUT_MS = 2_000

/**
 * SQLite connection settings, chosen with `bench/sqlite-settings.ts` and `strace` (system calls
 * per primary-key read: 9 with the defaults, 4 with WAL, 3 with WAL + mmap, 1 with EXCLUSIVE):
 * - WAL lets readers (other workers, the CLI, an export) run beside the writer, and drops the
 *   per-read journal probes of the rollback journal.
 * - `synchronous = NORMAL` is durable in WAL mode except for the last commits on power loss.
 * - Memory-mapped reads replace a pread() per page miss; the larger page cache helps scans.
 * - `locking_mode` stays NORMAL by default: EXCLUSIVE saves the two shared-memory lock calls per
 *   read but locks every other process out (`hotpath seed` while serving, several workers); see
 *   {@link CreateDatabaseOptions.sqliteLockingMode}.
 */
export const SQLITE_PRAGMAS: readonly string[] = [
  'journal_mode = WAL',
  'synchronous = NORMAL',
  'foreign_keys = ON',
  'busy_timeout = 5000',
  'temp_store = MEMORY',
  'cache_size = -65536',
  'mmap_size = 268435456',
]

export type RawConnection =
  | { readonly dialect: 'sqlite'; readonly sqlite: BetterSqlite3.Database }
  | { readonly dialect: 'postgres'; readonly pool: pg.Pool }

/** An open database: the typed Kysely instance, the raw driver for bulk work, and `close()`. */
export interface ServiceDatabase {
  readonly db: Db
  readonly dialect: Dialect
  readonly raw: RawConnection
  /**
   * A connection for long reads (`.stream()` exports) that does not hold up other queries. Kysely
   * runs one query at a time on its single SQLite connection, so a stream on `db` would block every
   * request until it ends; on an SQLite file this opens a separate read-only connection (WAL lets
   * it read beside the writer). On PostgreSQL and `:memory:` it is `db` itself. Close it when done.
   *
   * @example
   * const reader = await database.openReader()
   * try {
   *   for await (const item of reader.db.selectFrom('items').selectAll().stream()) write(item)
   * } finally {
   *   await reader.close()
   * }
   */
  openReader(): Promise<{ readonly db: Db; close(): Promise<void> }>
  /** Destroys Kysely and closes the SQLite handle or the pg pool. Idempotent. */
  close(): Promise<void>
}

export interface CreateDatabaseOptions {
  /**
   * PostgreSQL pool size.
   * @default 10
   */
  poolSize?: number
  /**
   * PostgreSQL: how long a query waits for a free pooled connection (or a new one to connect)
   * before it fails with `E_DB_POOL_EXHAUSTED` / `E_DB_CONNECT_TIMEOUT`, in milliseconds; 0 waits
   * forever.
   * @default 2000
   */
  acquireTimeout?: number | undefined
  /**
   * PostgreSQL `statement_timeout` of every pooled connection, in milliseconds: the server cancels
   * a longer statement and the query fails with `E_DB_STATEMENT_TIMEOUT`. It applies to exports
   * too (per cursor fetch; a COPY export is one statement), so leave it off or generous when
   * large COPY exports run. `undefined` or 0 keeps the server's setting.
   * @default undefined
   */
  statementTimeout?: number | undefined
  /**
   * Run migrations before returning.
   * @default true
   */
  migrate?: boolean
  /**
   * SQLite `locking_mode`. `'exclusive'` makes primary-key reads about a third cheaper (no
   * shared-memory locks) but no other process can open the database while this one has it.
   * @default 'normal'
   */
  sqliteLockingMode?: 'normal' | 'exclusive'
}

/**
 * Open the service database on SQLite (better-sqlite3) or PostgreSQL (pg pool), and migrate it.
 * Every executed query is published on the `hotpath:db:query` diagnostics channel.
 *
 * @example
 * const { db, close } = await createDatabase({ dialect: 'sqlite', filename: 'data/hotpath.db' })
 * const item = await db.selectFrom('items').selectAll().where('id', '=', 1).executeTakeFirst()
 * await close()
 */
export async function createDatabase(
  target: DatabaseTarget,
  options: CreateDatabaseOptions = {},
): Promise<ServiceDatabase> {
  const opened =
    target.dialect === 'sqlite' ? openSqlite(target.filename, options) : openPostgres(target, options)
  let closed: Promise<void> | undefined
  const database: ServiceDatabase = {
    db: opened.db,
    dialect: target.dialect,
    raw: opened.raw,
    openReader: () => Promise.resolve(openReader(target, options, opened.db)),
    close: () =>
      (closed ??= destroy(opened.db, opened.raw.dialect === 'sqlite' ? opened.raw.sqlite : undefined)),
  }
  if (options.migrate ?? true) {
    try {
      await migrateToLatest(opened.db as Kysely<unknown>, target.dialect)
    } catch (error) {
      await database.close()
      throw error
    }
  }
  return database
}

function openSqlite(filename: string, options: CreateDatabaseOptions): { db: Db; raw: RawConnection } {
  if (filename !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(filename)), { recursive: true })
  const sqlite = new BetterSqlite3(filename)
  // Must precede journal_mode: only then does SQLite keep the WAL index in heap memory.
  if (options.sqliteLockingMode === 'exclusive') sqlite.pragma('locking_mode = EXCLUSIVE')
  for (const pragma of SQLITE_PRAGMAS) sqlite.pragma(pragma)
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: new SqliteStatementCache(sqlite) }),
    log: createQueryPublisher('sqlite'),
  })
  return { db, raw: { dialect: 'sqlite', sqlite } }
}

/** Pragmas of a read-only streaming connection: no journal changes, just fast reads. */
const READER_PRAGMAS = ['busy_timeout = 5000', 'cache_size = -16384', 'mmap_size = 268435456']

function openReader(
  target: DatabaseTarget,
  options: CreateDatabaseOptions,
  db: Db,
): { db: Db; close(): Promise<void> } {
  // A second connection cannot see a private in-memory database or get past an exclusive lock.
  if (
    target.dialect !== 'sqlite' ||
    target.filename === ':memory:' ||
    options.sqliteLockingMode === 'exclusive'
  ) {
    return { db, close: () => Promise.resolve() }
  }
  const sqlite = new BetterSqlite3(target.filename, { readonly: true, fileMustExist: true })
  for (const pragma of READER_PRAGMAS) sqlite.pragma(pragma)
  const reader = new Kysely<Database>({
    dialect: new SqliteDialect({ database: sqlite }),
    log: createQueryPublisher('sqlite'),
  })
  let closed: Promise<void> | undefined
  return { db: reader, close: () => (closed ??= destroy(reader, sqlite)) }
}

/** Kysely closes an SQLite handle only if it ever ran a query on it; close it either way. */
async function destroy(db: Db, sqlite: BetterSqlite3.Database | undefined): Promise<void> {
  await db.destroy()
  if (sqlite?.open) sqlite.close()
}

const INT8_OID = 20
const TIMESTAMP_OID = 1114
const TIMESTAMPTZ_OID = 1184

// Same JSON on both dialects: timestamps as ISO-8601 strings (as SQLite stores them) and counts as
// numbers. Scoped to this pool; the global pg type parsers are left alone.
const parseTimestamp = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (value: string) => Date
const serviceTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value)
    if (oid === TIMESTAMPTZ_OID || oid === TIMESTAMP_OID) {
      return (value: string) => parseTimestamp(value).toISOString()
    }
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text')
  },
} as pg.CustomTypesConfig

function openPostgres(
  target: Extract<DatabaseTarget, { dialect: 'postgres' }>,
  options: CreateDatabaseOptions,
): { db: Db; raw: RawConnection } {
  const acquireTimeoutMs = options.acquireTimeout ?? DEFAULT_POOL_ACQUIRE_TIMEOUT_MS
  const statementTimeoutMs = options.statementTimeout || undefined
  const pool = new pg.Pool({
    connectionString: target.connectionString,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: acquireTimeoutMs,
    ...(statementTimeoutMs === undefined ? {} : { statement_timeout: statementTimeoutMs }),
    types: serviceTypes,
  })
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {})
  // pg-pool only listens for errors on idle clients: a checked-out client whose connection dies
  // emits 'error' with no listener, which would crash the process. The query itself still fails.
  pool.on('connect', (client) => client.on('error', () => {}))
  const db = new Kysely<Database>({
    // Cursor enables `.stream()` (exports); the wrapper turns DML into named prepared statements.
    dialect: new PostgresDialect({
      pool: new PgPreparedStatementPool(pool, undefined, { acquireTimeoutMs, statementTimeoutMs }),
      cursor: withSettlingClose(Cursor),
    }),
    log: createQueryPublisher('postgres'),
  })
  return { db, raw: { dialect: 'postgres', pool } }
}
