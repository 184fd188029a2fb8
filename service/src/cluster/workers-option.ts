/**
 * How many worker processes `hotpath serve` runs: `--workers N|auto` or `WORKERS`, validated once.
 */
import os from 'node:os'
import type { ServiceConfig } from '../config.js'
import { ConfigError } from '../errors.js'

/** `auto`: one worker per core the process may use (`os.availableParallelism()`). */
export const WORKERS_AUTO = 'auto'
/** Used when neither `--workers` nor `WORKERS` is given. */
export const DEFAULT_WORKERS = WORKERS_AUTO
export const MAX_WORKERS = 256

/** The resolved worker count and whether it was asked for or chosen by default. */
export interface WorkersChoice {
  readonly count: number
  /** Why a count other than the one asked for was used, for the start-up log. */
  readonly note: string | undefined
}

/**
 * Resolve `--workers` (wins) or `WORKERS` into a count. `1` means today's single process, no
 * primary. An in-memory SQLite database lives inside one process, so `auto` falls back to one
 * worker there and an explicit count above one is an error. With `incoherentCache` (the data
 * cache is on and there is no Redis to keep workers' memory caches coherent) `auto` falls back to
 * one process too.
 *
 * @example
 * resolveWorkers('2', {}, loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).count // 2
 *
 * @throws ConfigError naming `--workers` or `WORKERS` when the value is not `auto` or 1..256
 */
/** The parts of the service configuration the worker count depends on. */
export type WorkersConfig = Pick<ServiceConfig, 'database' | 'cache' | 'httpCache' | 'redisUrl'>

/**
 * Whether workers would each keep a memory cache with no bus between them: a cache is on (data
 * or response) and there is no Redis. A write through one worker then leaves the others serving
 * their copy until it expires.
 */
export function memoryCachesIncoherent(config: WorkersConfig): boolean {
  return (config.cache.enabled || config.httpCache) && config.redisUrl === undefined
}

export function resolveWorkers(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  config: WorkersConfig,
  cores: number = os.availableParallelism(),
): WorkersChoice {
  const database = config.database
  const fromEnv = env.WORKERS === '' ? undefined : env.WORKERS
  const name = flag !== undefined ? '--workers' : 'WORKERS'
  const raw = (flag ?? fromEnv ?? DEFAULT_WORKERS).trim().toLowerCase()
  let count: number
  if (raw === WORKERS_AUTO) {
    count = Math.max(1, Math.min(cores, MAX_WORKERS))
  } else {
    count = Number(raw)
    if (!/^\d+$/.test(raw) || count < 1 || count > MAX_WORKERS) {
      throw new ConfigError(name, flag ?? fromEnv, `'auto' or an integer from 1 to ${MAX_WORKERS}`)
    }
  }
  const inMemory = database.dialect === 'sqlite' && database.filename === ':memory:'
  if (inMemory && count > 1) {
    if (raw !== WORKERS_AUTO) {
      throw new ConfigError(
        name,
        flag ?? fromEnv,
        "1 with an in-memory SQLite database (each worker would have its own); use a file or 'postgres://…'",
      )
    }
    return { count: 1, note: 'in-memory SQLite database: one process instead of one worker per core' }
  }
  if (count > 1 && raw === WORKERS_AUTO && memoryCachesIncoherent(config)) {
    // Each worker would keep its own memory cache with no bus between them: a write through one
    // leaves the others serving their copy until it expires. `auto` must not trade correctness
    // for throughput behind the user's back; an explicit count is honoured (with a warning).
    return {
      count: 1,
      note: "data cache on without REDIS_URL: one process instead of one worker per core (workers' memory caches would not see each other's writes); set REDIS_URL or CACHE=off to scale out, or pass --workers N explicitly",
    }
  }
  return { count, note: undefined }
}
