/**
 * One chaos run: a private Redis (behind a proxy that can go half-open) and a private database,
 * the reference service in its own process on top, mixed traffic, then faults in sequence with
 * recovery gaps. Returns the figures; `bench/reliability/chaos.ts` prints and saves them, the
 * integration test asserts on them.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import pg from 'pg'
import { spawnTarget, type SpawnedTarget } from '../../lib/spawn-target.js'
import {
  DEFAULT_L2_TIMEOUT,
  DEFAULT_BREAKER_DURATION,
  DEFAULT_L1_TRUST_TIMEOUT,
} from '../../../src/cache/defaults.js'
import {
  analyseFaults,
  DEFAULT_ANALYSIS,
  findLostWrites,
  timeline,
  type AnalysisOptions,
  type FaultFigures,
  type FaultSpan,
  type LostWrite,
  type StoredItem,
  type WindowFigures,
} from './chaos-analysis.js'
import { DEFAULT_MIX, startLoad, type TrafficMix } from './chaos-load.js'
import { ChaosPostgres } from './chaos-postgres.js'
import { HalfOpenProxy } from './chaos-proxy.js'
import { ChaosRedis } from './chaos-redis.js'
import { readServiceState, serviceEnvironment, type ServiceState } from './chaos-target.js'

const TARGET = path.join(path.dirname(fileURLToPath(import.meta.url)), 'chaos-target.ts')

export const FAULTS = ['redis-kill', 'redis-pause', 'redis-half-open', 'postgres-restart'] as const
export type FaultName = (typeof FAULTS)[number]

export interface ChaosOptions {
  /** @default 'postgres' */
  database?: 'postgres' | 'sqlite'
  /** In order. `postgres-restart` needs `database: 'postgres'`. @default every fault that applies */
  faults?: readonly FaultName[]
  /** How long each fault lasts. @default 5000 */
  faultMs?: number
  /** Load between healing a fault and the next one (recovery is looked for in it). @default 10000 */
  gapMs?: number
  /** Load before the baseline, measured by nobody (JIT, connection pools, hot keys). @default 3000 */
  warmupMs?: number
  /** Load before the first fault; also the "before" window of every fault. @default 5000 */
  baselineMs?: number
  /** @default 16 */
  connections?: number
  /** Seeded items (ids 1..items). @default 10000 */
  items?: number
  /** @default DEFAULT_MIX */
  mix?: TrafficMix
  /** Client timeout of one request. @default 5000 */
  timeoutMs?: number
  /** Port of the private redis-server. @default 7300 */
  redisPort?: number
  /** Port of the private PostgreSQL. @default 7390 */
  postgresPort?: number
  /** `WRITE_STRATEGY` of the service. @default 'through' */
  writeStrategy?: 'through' | 'behind'
  /** Redis persistence (`appendfsync`), `'off'` for none. @default 'off' */
  redisAppendfsync?: 'off' | 'always' | 'everysec'
  analysis?: AnalysisOptions
  /** Progress lines. @default no output */
  log?: (line: string) => void
}

/** Everything a chaos run measured. Times in ms since the start of the load. */
export interface ChaosResult {
  readonly settings: {
    readonly database: 'postgres' | 'sqlite'
    readonly writeStrategy: 'through' | 'behind'
    readonly redisAppendfsync: string
    readonly connections: number
    readonly items: number
    readonly mix: TrafficMix
    readonly faultMs: number
    readonly gapMs: number
    readonly warmupMs: number
    readonly baselineMs: number
    readonly timeoutMs: number
    readonly windowMs: number
    /** The service's cache timeouts the p99 during a Redis fault is bounded by. */
    readonly l2TimeoutMs: number
    readonly breakerOpenMs: number
    readonly l1TrustMs: number
  }
  readonly durationMs: number
  readonly requests: {
    readonly reads: number
    readonly writes: number
    readonly failedReads: number
    readonly failedWrites: number
  }
  readonly faults: readonly (FaultFigures & { readonly observed: FaultObservation })[]
  readonly timeline: readonly WindowFigures[]
  readonly writes: { readonly acked: number; readonly checked: number; readonly lost: readonly LostWrite[] }
  /** Errors the service answered requests with, grouped by route, code and message, most first. */
  readonly serviceErrors: readonly { readonly error: string; readonly count: number }[]
}

/** What the service itself reported while a fault was on (polled from its state route). */
export interface FaultObservation {
  /** L1 stopped being trusted (coherence channel lost) at least once. */
  readonly l1Untrusted: boolean
  /** The L2 circuit breaker was seen open or half-open. */
  readonly breakerOpened: boolean
  /** L2 errors counted during the fault. */
  readonly l2Errors: number
  /** After healing, the service was seen trusting its L1 again with the breaker closed. */
  readonly recovered: boolean
  /** ms from healing until the service was first seen so; null when it never was. */
  readonly recoveredAfterMs: number | null
}

/** A fault whose service has not recovered by the end of its gap gets this much longer. */
const RECOVERY_DEADLINE_MS = 15_000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Run the faults under load and measure. Every process it starts is stopped before it returns. */
export async function runChaos(options: ChaosOptions = {}): Promise<ChaosResult> {
  const database = options.database ?? 'postgres'
  const faults =
    options.faults ?? FAULTS.filter((fault) => database === 'postgres' || fault !== 'postgres-restart')
  if (database !== 'postgres' && faults.includes('postgres-restart')) {
    throw new TypeError("chaos: fault 'postgres-restart' needs database 'postgres'")
  }
  const settings = {
    database,
    writeStrategy: options.writeStrategy ?? 'through',
    redisAppendfsync: options.redisAppendfsync ?? 'off',
    connections: options.connections ?? 16,
    items: options.items ?? 10_000,
    mix: options.mix ?? DEFAULT_MIX,
    faultMs: options.faultMs ?? 5_000,
    gapMs: options.gapMs ?? 10_000,
    warmupMs: options.warmupMs ?? 3_000,
    baselineMs: options.baselineMs ?? 5_000,
    timeoutMs: options.timeoutMs ?? 5_000,
    windowMs: options.analysis?.windowMs ?? DEFAULT_ANALYSIS.windowMs,
    l2TimeoutMs: DEFAULT_L2_TIMEOUT,
    breakerOpenMs: DEFAULT_BREAKER_DURATION,
    l1TrustMs: DEFAULT_L1_TRUST_TIMEOUT,
  } as const
  const log = options.log ?? (() => undefined)
  const cleanups: (() => Promise<void>)[] = []
  try {
    const redis = new ChaosRedis({ port: options.redisPort ?? 7300, appendfsync: settings.redisAppendfsync })
    cleanups.push(() => redis.destroy())
    await redis.start()
    const proxy = new HalfOpenProxy(redis.port)
    await proxy.start()
    cleanups.push(() => proxy.close())

    let databaseUrl: string
    let postgres: ChaosPostgres | undefined
    if (database === 'postgres') {
      postgres = new ChaosPostgres({ port: options.postgresPort ?? 7390 })
      const owned = postgres
      cleanups.push(() => owned.destroy())
      await postgres.init()
      databaseUrl = postgres.url
    } else {
      const file = path.join(tmpdir(), `hotpath-chaos-${process.pid}-${Date.now()}.db`)
      cleanups.push(async () => {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true })
      })
      databaseUrl = `sqlite:${file}`
    }
    log(`redis ${redis.url} (through proxy :${proxy.port}), ${database} ${databaseUrl}`)
    const errorLog = path.join(tmpdir(), `hotpath-chaos-errors-${process.pid}-${Date.now()}.ndjson`)
    cleanups.push(async () => rmSync(errorLog, { force: true }))

    const service = await spawnTarget(TARGET, {
      exportName: 'startObserved',
      env: serviceEnvironment({
        DATABASE_URL: databaseUrl,
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        CACHE: 'on',
        HTTP_CACHE: 'off',
        RATE_LIMIT: 'off',
        CACHE_PREFIX: `chaos${process.pid}`,
        WRITE_STRATEGY: settings.writeStrategy,
        LOG_LEVEL: 'fatal',
        SEED_ITEMS: String(settings.items),
        SEED_USERS: '100',
        SEED_POSTS: '100',
        RELIABILITY_ERROR_LOG: errorLog,
      }),
    })
    let serviceStopped = false
    cleanups.push(async () => {
      if (!serviceStopped) await service.stop()
    })
    log(`service ${service.url} (pid ${service.pid})`)
    await untilTrusted(service)

    const load = startLoad({
      origin: service.url,
      items: settings.items,
      connections: settings.connections,
      mix: settings.mix,
      timeoutMs: settings.timeoutMs,
    })
    const spans: Omit<FaultSpan, 'until'>[] = []
    const observations: FaultObservation[] = []
    try {
      await sleep(settings.warmupMs + settings.baselineMs)
      for (const fault of faults) {
        const inject = injector(fault, redis, proxy, postgres)
        const before = await state(service)
        log(`${fault}: inject`)
        const injectedAt = load.now()
        const watch = watchState(service, load.now)
        await inject.start()
        await sleep(settings.faultMs)
        await inject.heal()
        const healedAt = load.now()
        watch.healed()
        log(`${fault}: healed after ${Math.round(healedAt - injectedAt)} ms`)
        await sleep(settings.gapMs)
        // The next fault waits until the service is back (or a deadline), so faults never stack.
        const deadline = Date.now() + RECOVERY_DEADLINE_MS
        while (!watch.seen.recovered && Date.now() < deadline) await sleep(100)
        const seen = await watch.stop()
        observations.push({
          l1Untrusted: seen.l1Untrusted,
          breakerOpened: seen.breakerOpened,
          l2Errors: Math.max(0, seen.l2Errors - (before?.cache?.l2Errors ?? 0)),
          recovered: seen.recovered,
          recoveredAfterMs: seen.recoveredAt === null ? null : Math.max(0, seen.recoveredAt - healedAt),
        })
        spans.push({ name: fault, injectedAt, healedAt, databaseDown: fault === 'postgres-restart' })
      }
    } finally {
      await load.stop()
    }
    const durationMs = load.now()
    log(`load stopped after ${Math.round(durationMs)} ms, ${load.records.length} requests`)

    // The service closes first, so every write it acknowledged has reached the database.
    await service.stop()
    serviceStopped = true
    const stored = await readItems(databaseUrl, [...new Set(load.acked.map((write) => write.id))])
    const writes = findLostWrites(load.acked, stored)

    const fullSpans: FaultSpan[] = spans.map((span, index) => ({
      ...span,
      until: spans[index + 1]?.injectedAt ?? durationMs,
    }))
    const figures = analyseFaults(load.records, fullSpans, {
      // The "before" window of a later fault lies in the gap after the previous one.
      baselineMs: Math.min(settings.baselineMs, settings.gapMs),
      ...options.analysis,
    })
    const reads = load.records.filter((record) => record.kind === 'read')
    const writesMade = load.records.filter((record) => record.kind === 'write')
    return {
      settings,
      durationMs,
      requests: {
        reads: reads.length,
        writes: writesMade.length,
        failedReads: reads.filter((record) => !record.ok).length,
        failedWrites: writesMade.filter((record) => !record.ok).length,
      },
      faults: figures.map((figure, index) => ({ ...figure, observed: observations[index]! })),
      timeline: timeline(load.records, durationMs, settings.windowMs),
      writes: { acked: load.acked.length, checked: writes.checked, lost: writes.lost },
      serviceErrors: groupErrors(errorLog),
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  }
}

interface Injector {
  start(): Promise<void>
  heal(): Promise<void>
}

function injector(
  fault: FaultName,
  redis: ChaosRedis,
  proxy: HalfOpenProxy,
  postgres: ChaosPostgres | undefined,
): Injector {
  switch (fault) {
    case 'redis-kill':
      return { start: () => redis.kill(), heal: () => redis.start() }
    case 'redis-pause':
      return {
        start: async () => redis.signal('SIGSTOP'),
        heal: async () => redis.signal('SIGCONT'),
      }
    case 'redis-half-open':
      return { start: async () => proxy.freeze(), heal: async () => proxy.thaw() }
    case 'postgres-restart':
      return { start: () => postgres!.stop(), heal: () => postgres!.start() }
  }
}

function state(service: SpawnedTarget): Promise<ServiceState | undefined> {
  return readServiceState(service.url, { timeoutMs: 2_000 })
}

/** Poll the service's state while a fault is on and after: did it notice, did it come back? */
function watchState(
  service: SpawnedTarget,
  now: () => number,
): {
  readonly seen: Readonly<WatchedState>
  healed(): void
  stop(): Promise<WatchedState>
} {
  const seen: WatchedState = {
    l1Untrusted: false,
    breakerOpened: false,
    l2Errors: 0,
    recovered: false,
    recoveredAt: null,
  }
  let running = true
  let healed = false
  const loop = (async () => {
    while (running) {
      const afterHeal = healed
      const current = await state(service)
      if (current?.cache) {
        const { l1Trusted, l2Circuit, l2Errors } = current.cache
        if (!l1Trusted) seen.l1Untrusted = true
        if (l2Circuit !== 'closed') seen.breakerOpened = true
        seen.l2Errors = Math.max(seen.l2Errors, l2Errors)
        if (afterHeal && !seen.recovered && l1Trusted && l2Circuit === 'closed') {
          seen.recovered = true
          seen.recoveredAt = now()
        }
      }
      await sleep(50)
    }
  })()
  return {
    seen,
    healed() {
      healed = true
    },
    async stop() {
      running = false
      await loop
      return seen
    },
  }
}

interface WatchedState {
  l1Untrusted: boolean
  breakerOpened: boolean
  l2Errors: number
  recovered: boolean
  recoveredAt: number | null
}

async function untilTrusted(service: SpawnedTarget): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if ((await state(service))?.cache?.l1Trusted) return
    await sleep(50)
  }
  throw new Error('the service never trusted its L1: is its coherence channel up?')
}

/** The rows of `ids` as the database holds them (read after the service closed). */
async function readItems(databaseUrl: string, ids: number[]): Promise<Map<number, StoredItem>> {
  const rows = new Map<number, StoredItem>()
  if (ids.length === 0) return rows
  if (databaseUrl.startsWith('sqlite:')) {
    const sqlite = new Database(databaseUrl.slice('sqlite:'.length), { readonly: true })
    try {
      const select = sqlite.prepare('select id, version, name from items where id = ?')
      for (const id of ids) {
        const row = select.get(id) as { id: number; version: number; name: string } | undefined
        if (row) rows.set(row.id, { version: row.version, name: row.name })
      }
    } finally {
      sqlite.close()
    }
    return rows
  }
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const result = await client.query<{ id: number; version: number; name: string }>(
      'select id, version, name from items where id = any($1::int[])',
      [ids],
    )
    for (const row of result.rows) rows.set(Number(row.id), { version: Number(row.version), name: row.name })
  } finally {
    await client.end()
  }
  return rows
}

/** The service's error lines, grouped: `"<route> <code>: <message> (<cause>)"` → count. */
function groupErrors(file: string): { error: string; count: number }[] {
  if (!existsSync(file)) return []
  const counts = new Map<string, number>()
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue
    const e = JSON.parse(line) as {
      route: string
      code: unknown
      message: string
      cause: unknown
    }
    const key = `${e.route} ${String(e.code)}: ${e.message}${e.cause ? ` (${String(e.cause)})` : ''}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].map(([error, count]) => ({ error, count })).sort((a, b) => b.count - a.count)
}
