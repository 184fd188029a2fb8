/**
 * Shared set-up of the hostile-input suites: a seeded SQLite database, service apps built on it
 * from environment-style settings, a Redis client to inspect keys, and private redis-servers on
 * this suite's port range (7600-7699).
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { createClient } from 'redis'
import { buildApp, type BuildAppOptions } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { DedicatedRedis } from '../cache/helpers.js'
import { createSqliteDatabase, type TestDatabase } from '../service/backends.js'

export const SEED = 11
export const SIZES = { items: 200, users: 20, posts: 100, seed: SEED }

export function uniquePrefix(area: string): string {
  return `test-sec-${area}-${randomBytes(4).toString('hex')}`
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Poll `check` until it returns true; fail after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** A seeded SQLite database shared by the apps of one test file. */
export interface SeededDatabase {
  url: string
  database: ServiceDatabase
  close(): Promise<void>
}

export async function seededDatabase(): Promise<SeededDatabase> {
  const testDb: TestDatabase = await createSqliteDatabase()
  const config = loadConfig({ DATABASE_URL: testDb.url })
  const database = await createDatabase(config.database, { poolSize: 2, migrate: true })
  await seedDatabase(database, SIZES)
  return {
    url: testDb.url,
    database,
    async close() {
      await database.close()
      await testDb.drop()
    },
  }
}

/** Build a service app on `db` from environment-style settings (LOG_LEVEL silent unless given). */
export async function serviceApp(
  db: SeededDatabase,
  env: Record<string, string | undefined>,
  options: Omit<BuildAppOptions, 'database'> = {},
): Promise<ServiceApp> {
  const config = loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: db.url, ...env })
  const app = await buildApp(config, { ...options, database: db.database })
  await app.ready()
  return app
}

export type RedisClient = ReturnType<typeof createClient>

export async function redisClient(url: string): Promise<RedisClient> {
  const client = createClient({ url })
  client.on('error', () => undefined)
  await client.connect()
  return client
}

/** Every key matching `pattern` (SCAN with a COUNT, never KEYS). */
export async function scanKeys(client: RedisClient, pattern = '*'): Promise<string[]> {
  const keys: string[] = []
  for await (const batch of client.scanIterator({ MATCH: pattern, COUNT: 500 })) keys.push(...batch)
  return keys
}

/** Delete everything under a test's own prefix on a shared Redis. */
export async function dropPrefix(client: RedisClient, prefix: string): Promise<void> {
  const keys = await scanKeys(client, `${prefix}*`)
  for (let i = 0; i < keys.length; i += 500) await client.unlink(keys.slice(i, i + 500))
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A private redis-server on a free port of 7600-7699 (this suite's range), stopped by PID. */
export async function privateRedis(): Promise<DedicatedRedis> {
  const start = 7600 + Math.floor(Math.random() * 100)
  for (let i = 0; i < 100; i++) {
    const port = 7600 + ((start - 7600 + i) % 100)
    if (!(await portFree(port))) continue
    const redis = new DedicatedRedis()
    try {
      await redis.start(port)
      return redis
    } catch {
      await redis.kill()
    }
  }
  throw new Error('no free port in 7600-7699 for a private redis-server')
}
