/**
 * The two database backends every service test runs against: a temp-file SQLite database and a
 * fresh PostgreSQL database (created per run on the `postgres` database, dropped afterwards).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { hasPostgres, POSTGRES_URL } from '../../helpers/services.js'

export interface TestDatabase {
  /** A `DATABASE_URL` for the service. */
  url: string
  drop(): Promise<void>
}

export interface Backend {
  name: 'sqlite' | 'postgres'
  enabled: boolean
  create(): Promise<TestDatabase>
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 10)
}

export async function createSqliteDatabase(): Promise<TestDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-svc-'))
  return {
    url: `sqlite:${path.join(dir, 'test.db')}`,
    drop: () => fs.promises.rm(dir, { recursive: true, force: true }),
  }
}

export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `hotpath_svc_${randomSuffix()}`
  const admin = new URL(POSTGRES_URL)
  admin.pathname = '/postgres'
  const run = async (statement: string) => {
    const client = new pg.Client({ connectionString: admin.toString() })
    await client.connect()
    try {
      await client.query(statement)
    } finally {
      await client.end()
    }
  }
  await run(`create database ${name}`)
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => run(`drop database if exists ${name} with (force)`) }
}

export const BACKENDS: readonly Backend[] = [
  { name: 'sqlite', enabled: true, create: createSqliteDatabase },
  { name: 'postgres', enabled: hasPostgres, create: createPostgresDatabase },
]
