/**
 * Bench target: the reference service itself, built exactly as `hotpath serve` builds it (same
 * config loader, same app), on its own SQLite file seeded once with the bench's item count.
 * The environment of the target (see `env` in `groups.ts`) selects the configuration, e.g.
 * `REDIS_URL` for the shared tier once the service wires its cache to it.
 */
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildApp } from '../../service/src/app.js'
import { loadConfig, type ServiceConfig } from '../../service/src/config.js'
import { createDatabase } from '../../service/src/db/create-database.js'
import { ItemsRepository } from '../../service/src/items/repository.js'
import { seedDatabase } from '../../service/src/seed.js'
import type { ServiceApp } from '../../service/src/context.js'
import type { Item } from '../../service/src/items/schemas.js'
import { createCache } from '../../src/cache/index.js'
import { redisStore } from '../../src/cache/stores/redis/index.js'
import type { Cache } from '../../src/cache/types.js'
import { BENCH_ITEMS, BENCH_SEED } from './items-db.js'
import type { RunningTarget } from './target.js'

/** Users and posts are not what the HTTP groups load; a few keep seeding fast. */
const BENCH_USERS = 1_000
const BENCH_POSTS = 1_000

/** The service with no cache: every `GET /items/:id` is a query. */
export function start(port: number): Promise<RunningTarget> {
  return startService(port, null)
}

/** The service with cache-aside on `findById` through Hotpath's memory tier (L1) only. */
export function startL1(port: number): Promise<RunningTarget> {
  return startService(port, () => createCache({ ttl: '5m' }))
}

/**
 * The service with cache-aside through L1 + Redis L2 (`REDIS_URL`, default 127.0.0.1:6379), under a
 * per-process prefix so that runs never share entries.
 */
export function startL1L2(port: number): Promise<RunningTarget> {
  return startService(port, () =>
    createCache({
      ttl: '5m',
      prefix: `bench${process.pid}`,
      l2: redisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
    }),
  )
}

/**
 * Wrap the items repository so `findById` goes through the cache (cache-aside). The benchmark
 * only reads; writes are not routed through the cache here.
 */
function cacheItems(cache: Cache) {
  return (app: ServiceApp) => {
    const items = app.service.repositories.items
    const cached = (id: number): Promise<Item | undefined> =>
      cache
        .getOrSet<Item | null>(`items:${id}`, async () => (await items.findById(id)) ?? null)
        .then((item) => item ?? undefined)
    app.service.repositories.items = new Proxy(items, {
      get(target, property) {
        if (property === 'findById') return cached
        const value: unknown = Reflect.get(target, property, target)
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      },
    })
  }
}

/**
 * The seeded database every service target starts from, built once aside and renamed into place
 * so that concurrent targets never see a half-seeded file.
 */
async function seededTemplate(config: ServiceConfig): Promise<string> {
  const file = path.join(tmpdir(), `hotpath-bench-service-${BENCH_ITEMS}-${BENCH_SEED}.db`)
  if (existsSync(file)) return file
  const building = `${file}.${process.pid}.building`
  removeSqlite(building)
  const database = await createDatabase({ dialect: 'sqlite', filename: building }, { migrate: true })
  try {
    await seedDatabase(database, config.seed)
  } finally {
    await database.close()
  }
  renameSync(building, file)
  return file
}

function removeSqlite(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
}

async function startService(port: number, makeCache: (() => Cache) | null): Promise<RunningTarget> {
  const env = {
    ...process.env,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    SEED_ITEMS: String(BENCH_ITEMS),
    SEED_USERS: String(BENCH_USERS),
    SEED_POSTS: String(BENCH_POSTS),
    SEED: String(BENCH_SEED),
  }
  // Each target gets a private copy of the seeded file: writes by one run (a read/write scenario)
  // never leak into another, and the environment's own DATABASE_URL is never touched.
  let ownFile: string | null = null
  if (process.env.BENCH_DATABASE_URL === undefined) {
    const template = await seededTemplate(loadConfig({ ...env, DATABASE_URL: 'sqlite::memory:' }))
    ownFile = path.join(tmpdir(), `hotpath-bench-service-${process.pid}-${port}.db`)
    copyFileSync(template, ownFile)
  }
  const config = loadConfig(
    { ...env, DATABASE_URL: process.env.BENCH_DATABASE_URL ?? `sqlite:${ownFile}` },
    { port, host: '127.0.0.1' },
  )
  const database = await createDatabase(config.database, { poolSize: config.dbPoolSize, migrate: true })
  const cleanup = async () => {
    await database.close()
    if (ownFile) removeSqlite(ownFile)
  }
  try {
    if ((await new ItemsRepository(database.db).count()) === 0) await seedDatabase(database, config.seed)
    const cache = makeCache?.() ?? null
    const app = await buildApp(config, { database, plugins: cache ? [cacheItems(cache)] : [] })
    await app.listen({ port, host: '127.0.0.1' })
    return {
      async close() {
        await app.close()
        await cache?.close()
        await cleanup()
      },
    }
  } catch (error) {
    await cleanup()
    throw error
  }
}
