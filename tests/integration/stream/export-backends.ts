/**
 * The databases the export suite runs on: SQLite in a temp file (exports read through their own
 * read-only handle), SQLite in memory (exports share the service's single connection) and a fresh
 * PostgreSQL database with a unique `application_name`, so that `pg_stat_activity` shows only ours.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'

import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { hasPostgres, POSTGRES_URL } from '../../helpers/services.js'

export interface ExportFixture {
  database: ServiceDatabase
  /** PostgreSQL only: the `application_name` of the service's connections. */
  applicationName?: string
  /** Resolves when nothing of the export is left holding the database (polls, bounded). */
  assertReleased(): Promise<void>
  close(): Promise<void>
}

export interface ExportBackend {
  name: 'sqlite-file' | 'sqlite-memory' | 'postgres'
  enabled: boolean
  open(items: number): Promise<ExportFixture>
}

const suffix = () => Math.random().toString(36).slice(2, 10)

/** Poll `check` until it returns undefined (released) or the deadline passes; then fail with its last message. */
export async function eventually(
  check: () => Promise<string | undefined>,
  deadlineMs = 10_000,
): Promise<void> {
  const until = Date.now() + deadlineMs
  let problem: string | undefined
  for (;;) {
    problem = await check()
    if (problem === undefined) return
    if (Date.now() > until) throw new Error(problem)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A write through the service's own Kysely must go through; a leaked export would block it. */
async function writeSucceeds(database: ServiceDatabase): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined
  const write = database.db
    .updateTable('items')
    .set({ version: 2 })
    .where('id', '=', 1)
    .execute()
    .then(
      () => undefined,
      // A pooled connection that shared the killed backend's fate fails once and is discarded by
      // the pool; the next attempt must then go through.
      (error: unknown) => `a write after the aborted export failed: ${(error as Error).message}`,
    )
  const hung = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('a write after the aborted export did not complete within 5 s'), 5_000)
  })
  try {
    return await Promise.race([write, hung])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A read transaction left open by an export pins the WAL: a passive checkpoint right after a write
 * cannot copy every frame back. (Counting file descriptors does not work: SQLite defers closing a
 * file while another connection of the process holds locks on it.)
 */
function walPinned(database: ServiceDatabase): string | undefined {
  if (database.raw.dialect !== 'sqlite') return undefined
  const [result] = database.raw.sqlite.pragma('wal_checkpoint(PASSIVE)') as {
    log: number
    checkpointed: number
  }[]
  if (result && result.checkpointed < result.log) {
    return `a reader still holds an old snapshot: checkpointed ${result.checkpointed} of ${result.log} WAL frames`
  }
  return undefined
}

async function openSqliteFile(items: number): Promise<ExportFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-stream-'))
  const file = path.join(dir, 'export.db')
  const database = await createDatabase({ dialect: 'sqlite', filename: file })
  await seedDatabase(database, { items, users: 0, posts: 0 })
  return {
    database,
    assertReleased: () => eventually(async () => (await writeSucceeds(database)) ?? walPinned(database)),
    close: async () => {
      await database.close()
      await fs.promises.rm(dir, { recursive: true, force: true })
    },
  }
}

async function openSqliteMemory(items: number): Promise<ExportFixture> {
  const database = await createDatabase({ dialect: 'sqlite', filename: ':memory:' })
  await seedDatabase(database, { items, users: 0, posts: 0 })
  return {
    database,
    assertReleased: () => eventually(() => writeSucceeds(database)),
    close: () => database.close(),
  }
}

async function openPostgres(items: number): Promise<ExportFixture> {
  const name = `hotpath_stream_${suffix()}`
  const admin = new URL(POSTGRES_URL)
  admin.pathname = '/postgres'
  const adminClient = new pg.Client({ connectionString: admin.toString() })
  await adminClient.connect()
  await adminClient.query(`create database ${name}`)
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  url.searchParams.set('application_name', name)
  const database = await createDatabase({ dialect: 'postgres', connectionString: url.toString() })
  await seedDatabase(database, { items, users: 0, posts: 0 })
  const pool = database.raw.dialect === 'postgres' ? database.raw.pool : undefined
  // A checked-out pg client whose connection dies emits 'error'; pg-pool listens only while the
  // client is idle, so without this the fault-injection test would crash the run (the service
  // should do the same in its own pool setup).
  const listened = new WeakSet<object>()
  pool?.on('acquire', (client) => {
    if (listened.has(client)) return
    listened.add(client)
    client.on('error', () => {})
  })
  return {
    database,
    applicationName: name,
    assertReleased: () =>
      eventually(async () => {
        const { rows } = await adminClient.query<{ state: string; query: string }>(
          `select state, query from pg_stat_activity where application_name = $1 and state <> 'idle'`,
          [name],
        )
        if (rows.length > 0) return `busy connections left in pg_stat_activity: ${JSON.stringify(rows)}`
        if (pool && (pool.totalCount !== pool.idleCount || pool.waitingCount > 0)) {
          return `pool not idle: total ${pool.totalCount}, idle ${pool.idleCount}, waiting ${pool.waitingCount}`
        }
        return writeSucceeds(database)
      }),
    close: async () => {
      await database.close()
      await adminClient.query(`drop database if exists ${name} with (force)`)
      await adminClient.end()
    },
  }
}

export const EXPORT_BACKENDS: readonly ExportBackend[] = [
  { name: 'sqlite-file', enabled: true, open: openSqliteFile },
  { name: 'sqlite-memory', enabled: true, open: openSqliteMemory },
  { name: 'postgres', enabled: hasPostgres, open: openPostgres },
]
