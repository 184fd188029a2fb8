/**
 * One soak run: the reference service in its own process (private Redis, private database), every
 * readable path fetched once so the caches hold the whole working set, then mixed traffic for a
 * long time with the service's RSS and heap sampled every second through its state route. With
 * `gc` on (default) the service runs with `--expose-gc` and each sample also reads the heap right
 * after a full collection: what is retained, without the sawtooth of the young generation.
 */
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { spawnTarget, type SpawnedTarget } from '../../lib/spawn-target.js'
import { DEFAULT_MIX, readPaths, startLoad, type TrafficMix } from './chaos-load.js'
import { ChaosPostgres } from './chaos-postgres.js'
import { ChaosRedis } from './chaos-redis.js'
import { readServiceState, serviceEnvironment, type ServiceState } from './chaos-target.js'
import { detectGrowth, type GrowthVerdict, type SeriesPoint } from './soak-analysis.js'

const TARGET = path.join(path.dirname(fileURLToPath(import.meta.url)), 'chaos-target.ts')
const MIB = 2 ** 20

/** Heap growth (after GC) tolerated over the last two thirds of a run. */
export const DEFAULT_MAX_HEAP_SLOPE = 2 * MIB
/** RSS growth tolerated: the allocator keeps pages, so RSS is noisier than the heap. */
export const DEFAULT_MAX_RSS_SLOPE = 8 * MIB

export interface SoakOptions {
  /** Measured duration (after priming). @default 600000 (10 min) */
  durationMs?: number
  /** Load after priming and before sampling (JIT, pools, first writes of each item). @default 30000 */
  warmupMs?: number
  /** @default 1000 */
  sampleEveryMs?: number
  /** @default 'sqlite' */
  database?: 'sqlite' | 'postgres'
  /** @default 16 */
  connections?: number
  /** @default 10000 */
  items?: number
  /** @default DEFAULT_MIX */
  mix?: TrafficMix
  /** Sample the heap after a full GC too (`--expose-gc` in the service). @default true */
  gc?: boolean
  /** Bytes per minute. @default DEFAULT_MAX_HEAP_SLOPE */
  maxHeapSlopePerMinute?: number
  /** Bytes per minute. @default DEFAULT_MAX_RSS_SLOPE */
  maxRssSlopePerMinute?: number
  /** @default 7310 */
  redisPort?: number
  /** @default 7392 */
  postgresPort?: number
  log?: (line: string) => void
}

/** One sample: `t` ms since the load started. */
export interface MemorySample {
  readonly t: number
  readonly rss: number
  readonly heapUsed: number
  readonly heapAfterGc: number | null
  /** Calculated bytes held by the service's L1 (bounded by its byte budget, 64 MiB by default). */
  readonly l1Bytes: number | null
  readonly l1Items: number | null
}

export interface SoakResult {
  readonly settings: {
    readonly durationMs: number
    readonly warmupMs: number
    readonly sampleEveryMs: number
    readonly database: 'sqlite' | 'postgres'
    readonly connections: number
    readonly items: number
    readonly mix: TrafficMix
    readonly gc: boolean
  }
  readonly requests: { reads: number; writes: number; failedReads: number; failedWrites: number }
  readonly samples: readonly MemorySample[]
  /** Verdict on the heap after GC (or heap used without `gc`). */
  readonly heap: GrowthVerdict
  readonly rss: GrowthVerdict
  readonly ok: boolean
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Run the soak and judge the memory series. Every process it starts is stopped before it returns. */
export async function runSoak(options: SoakOptions = {}): Promise<SoakResult> {
  const settings = {
    durationMs: options.durationMs ?? 600_000,
    warmupMs: options.warmupMs ?? 30_000,
    sampleEveryMs: options.sampleEveryMs ?? 1_000,
    database: options.database ?? 'sqlite',
    connections: options.connections ?? 16,
    items: options.items ?? 10_000,
    mix: options.mix ?? DEFAULT_MIX,
    gc: options.gc ?? true,
  } as const
  const log = options.log ?? (() => undefined)
  const cleanups: (() => Promise<void>)[] = []
  try {
    const redis = new ChaosRedis({ port: options.redisPort ?? 7310 })
    cleanups.push(() => redis.destroy())
    await redis.start()
    let databaseUrl: string
    if (settings.database === 'postgres') {
      const postgres = new ChaosPostgres({ port: options.postgresPort ?? 7392 })
      cleanups.push(() => postgres.destroy())
      await postgres.init()
      databaseUrl = postgres.url
    } else {
      const file = path.join(tmpdir(), `hotpath-soak-${process.pid}-${Date.now()}.db`)
      cleanups.push(async () => {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
      })
      databaseUrl = `sqlite:${file}`
    }
    const service = await spawnTarget(TARGET, {
      exportName: 'startObserved',
      env: serviceEnvironment({
        DATABASE_URL: databaseUrl,
        REDIS_URL: redis.url,
        CACHE: 'on',
        HTTP_CACHE: 'off',
        RATE_LIMIT: 'off',
        CACHE_PREFIX: `soak${process.pid}`,
        LOG_LEVEL: 'fatal',
        SEED_ITEMS: String(settings.items),
        SEED_USERS: '100',
        SEED_POSTS: '100',
        NODE_OPTIONS: [process.env.NODE_OPTIONS, settings.gc ? '--expose-gc' : ''].filter(Boolean).join(' '),
      }),
    })
    cleanups.push(() => service.stop())
    log(`service ${service.url} (pid ${service.pid}), ${settings.database}, redis ${redis.url}`)

    await prime(service.url, readPaths(settings.items), settings.connections)
    log(`primed ${settings.items} items, lists and searches; warm-up ${settings.warmupMs} ms`)
    const load = startLoad({
      origin: service.url,
      items: settings.items,
      connections: settings.connections,
      mix: settings.mix,
      keepRecords: false,
      epoch: performance.now() + settings.warmupMs,
    })
    const samples: MemorySample[] = []
    try {
      await sleep(settings.warmupMs)
      log(`soaking for ${settings.durationMs} ms`)
      let next = 0
      while (load.now() < settings.durationMs) {
        const state = await sample(service, settings.gc)
        if (state !== undefined) {
          samples.push({
            t: load.now(),
            rss: state.memory.rss,
            heapUsed: state.memory.heapUsed,
            heapAfterGc: state.heapAfterGc,
            l1Bytes: state.cache?.l1Bytes ?? null,
            l1Items: state.cache?.l1Items ?? null,
          })
        }
        next += settings.sampleEveryMs
        if (samples.length % 60 === 0 && samples.length > 0) {
          const last = samples[samples.length - 1]!
          log(
            `${Math.round(last.t / 1000)} s: rss ${mib(last.rss)}, heap ${mib(last.heapAfterGc ?? last.heapUsed)}`,
          )
        }
        await sleep(Math.max(0, next - load.now()))
      }
    } finally {
      await load.stop()
    }
    const heapSeries: SeriesPoint[] = samples.map((s) => ({ t: s.t, value: s.heapAfterGc ?? s.heapUsed }))
    const rssSeries: SeriesPoint[] = samples.map((s) => ({ t: s.t, value: s.rss }))
    const heap = detectGrowth(heapSeries, options.maxHeapSlopePerMinute ?? DEFAULT_MAX_HEAP_SLOPE)
    const rss = detectGrowth(rssSeries, options.maxRssSlopePerMinute ?? DEFAULT_MAX_RSS_SLOPE)
    return {
      settings,
      requests: { ...load.counts },
      samples,
      heap,
      rss,
      ok: !heap.growing && !rss.growing,
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  }
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`
}

function sample(service: SpawnedTarget, gc: boolean): Promise<ServiceState | undefined> {
  return readServiceState(service.url, { gc, timeoutMs: 5_000 })
}

/** GET every path once, `connections` at a time; a failure here is a broken setup, not a finding. */
async function prime(origin: string, paths: readonly string[], connections: number): Promise<void> {
  const pool = new Pool(origin, { connections })
  let index = 0
  const worker = async () => {
    while (index < paths.length) {
      const target = paths[index++] as string
      const response = await pool.request({ method: 'GET', path: target })
      await response.body.dump()
      if (response.statusCode !== 200)
        throw new Error(`priming GET ${target} answered ${response.statusCode}`)
    }
  }
  try {
    await Promise.all(Array.from({ length: connections }, worker))
  } finally {
    await pool.close()
  }
}
