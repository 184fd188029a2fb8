/**
 * Bench target: the reference service itself, built exactly as `hotpath serve` builds it (same
 * config loader, same `buildApp`, its own cache-aside and diagnostics), on a private copy of an
 * SQLite file seeded once with the bench's item count. Each export is one configuration, set
 * through the service's own environment variables (`service/src/config.ts`); the parent's values
 * of those variables are ignored so every run measures the same thing.
 */
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Piscina } from 'piscina'
import { buildApp } from '../../service/src/app.js'
import { loadConfig, serviceVariableNames, type ServiceConfig } from '../../service/src/config.js'
import { createDatabase } from '../../service/src/db/create-database.js'
import { ItemsRepository } from '../../service/src/items/repository.js'
import { seedDatabase } from '../../service/src/seed.js'
import { BENCH_ITEMS, BENCH_SEED } from './items-db.js'
import type { RunningTarget } from './target.js'

/** Users and posts are not what the HTTP groups load; a few keep seeding fast. */
const BENCH_USERS = 1_000
const BENCH_POSTS = 1_000
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/** Every always-on diagnostic off (issue 7's baseline). */
export const DIAGNOSTICS_OFF: Readonly<Record<string, string>> = Object.freeze({
  SERVER_TIMING: 'off',
  METRICS: 'off',
  SLOW_QUERY_MS: '0',
  N_PLUS_ONE_THRESHOLD: '0',
  BLOCKING_THRESHOLD_MS: '0',
})

/** The service with no cache (`CACHE=off`): every `GET /items/:id` is a query. */
export function start(port: number): Promise<RunningTarget> {
  return startService(port, { CACHE: 'off' })
}

/** The service as a user gets it without Redis: cache-aside through the memory tier (L1). */
export function startL1(port: number): Promise<RunningTarget> {
  return startService(port, {})
}

/** {@link startL1} with every diagnostic off (Server-Timing, metrics, detectors). */
export function startL1NoDiagnostics(port: number): Promise<RunningTarget> {
  return startService(port, DIAGNOSTICS_OFF)
}

/**
 * {@link startL1NoDiagnostics} with the statistics worker pool as it was before it became lazy:
 * piscina with one thread started at once and left idle (`attribution --set worker`). Runs
 * compiled only: the worker module is the `.js` that `tsconfig.bench.json` emits.
 */
export async function startL1IdleWorker(port: number): Promise<RunningTarget> {
  const service = await startL1NoDiagnostics(port)
  const filename = new URL('../../service/src/stats/price-stats-worker.js', import.meta.url).href
  const pool = new Piscina({ filename, minThreads: 1, maxThreads: 1 })
  // The pool starts its minimum thread on its own; wait until it is up.
  while (pool.threads.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  return {
    async close() {
      await pool.destroy()
      await service.close()
    },
  }
}

/**
 * The service with Redis as L2 (`REDIS_URL` of the bench, default 127.0.0.1:6379), under a
 * per-process prefix so that runs never share entries.
 */
export function startL1L2(port: number): Promise<RunningTarget> {
  return startService(port, {
    REDIS_URL: process.env.REDIS_URL ?? DEFAULT_REDIS_URL,
    CACHE_PREFIX: `bench${process.pid}`,
  })
}

/** The service's response cache (`HTTP_CACHE=on`): a hit answers stored bytes, 304s from metadata. */
export function startResponseCache(port: number): Promise<RunningTarget> {
  return startService(port, { HTTP_CACHE: 'on' })
}

/** The response cache answered before Fastify routing (`FAST_LANE=on`). */
export function startFastLane(port: number): Promise<RunningTarget> {
  return startService(port, { HTTP_CACHE: 'on', FAST_LANE: 'on' })
}

/**
 * The response cache missing on (nearly) every request: entries live 1 ms with no grace and the
 * data cache is off, so each request pays the query, the serialization and storing the response.
 * Load it with a uniform key mix so that two requests for one id rarely fall within 1 ms.
 */
export function startResponseCacheMiss(port: number): Promise<RunningTarget> {
  return startService(port, { HTTP_CACHE: 'on', CACHE: 'off', CACHE_TTL: '1', CACHE_GRACE: '0' })
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

async function startService(
  port: number,
  features: Readonly<Record<string, string>>,
): Promise<RunningTarget> {
  const inherited: Record<string, string | undefined> = { ...process.env }
  // Every service variable of the parent is dropped: only the configuration's own values apply.
  for (const name of serviceVariableNames()) delete inherited[name]
  const env = {
    ...inherited,
    ...features,
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
    const app = await buildApp(config, { database })
    await app.listen({ port, host: '127.0.0.1' })
    return {
      async close() {
        await app.close()
        await cleanup()
      },
    }
  } catch (error) {
    await cleanup()
    throw error
  }
}
