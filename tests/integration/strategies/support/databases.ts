import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import pg from 'pg'
import { createDatabase, type ServiceDatabase } from '../../../../service/src/db/create-database.js'
import { hasPostgres, POSTGRES_URL } from '../../../helpers/services.js'

/** A private database for one test file: its URL (for a child process), and a way to open and drop it. */
export interface TestDatabase {
  readonly dialect: 'sqlite' | 'postgres'
  readonly url: string
  open(): Promise<ServiceDatabase>
  drop(): Promise<void>
}

export const BACKENDS = [
  { dialect: 'sqlite' as const, available: true },
  { dialect: 'postgres' as const, available: hasPostgres },
]

function adminUrl(): string {
  const url = new URL(POSTGRES_URL)
  url.pathname = '/postgres'
  return url.toString()
}

/** A fresh, migrated database: an SQLite file in a temp dir, or `hotpath_strategies_<random>` on PostgreSQL. */
export async function createTestDatabase(dialect: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-strategies-'))
    const filename = path.join(dir, 'test.db')
    const database = await createDatabase({ dialect: 'sqlite', filename }, { migrate: true })
    await database.close()
    return {
      dialect,
      url: `sqlite:${filename}`,
      open: () => createDatabase({ dialect: 'sqlite', filename }, { migrate: false }),
      drop: () => Promise.resolve(fs.rmSync(dir, { recursive: true, force: true })),
    }
  }
  const name = `hotpath_strategies_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const admin = new pg.Client({ connectionString: adminUrl() })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  const connectionString = url.toString()
  const database = await createDatabase(
    { dialect: 'postgres', connectionString },
    { migrate: true, poolSize: 4 },
  )
  await database.close()
  return {
    dialect,
    url: connectionString,
    open: () => createDatabase({ dialect: 'postgres', connectionString }, { migrate: false, poolSize: 4 }),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl() })
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await client.end()
    },
  }
}

/** Insert `count` items with ids 1..count at version 1. */
export async function seedItems(database: ServiceDatabase, count: number): Promise<void> {
  const rows = Array.from({ length: count }, (_, index) => ({
    id: index + 1,
    name: `item ${index + 1}`,
    category: 'seed',
    price: 100,
    description: '',
    updated_at: new Date(0).toISOString(),
    version: 1,
  }))
  for (let i = 0; i < rows.length; i += 500)
    await database.db
      .insertInto('items')
      .values(rows.slice(i, i + 500))
      .execute()
  if (database.dialect === 'postgres') {
    await sql`SELECT setval(pg_get_serial_sequence('items', 'id'), (SELECT max(id) FROM items))`.execute(
      database.db,
    )
  }
}
