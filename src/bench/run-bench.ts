import { request } from 'undici'
import { InvalidOptionError } from '../errors.js'
import { parseDuration, type Duration } from '../util/duration.js'
import {
  DEFAULT_CONNECTIONS,
  DEFAULT_DURATION,
  DEFAULT_PIPELINING,
  DEFAULT_PRIME_LIMIT,
  DEFAULT_TIMEOUT,
  DEFAULT_WARMUP,
  DEFAULT_WRK_THREADS,
} from './defaults.js'
import { autocannonEngine } from './engines/autocannon-engine.js'
import type { BenchEngine, EngineRunResult } from './engines/engine.js'
import { createWrkEngine } from './engines/wrk-engine.js'
import { createRequestPlan } from './request-plan.js'
import type { BenchEngineName, BenchResult } from './result.js'
import { originOf, scenarioFromUrl, type ResolvedScenario } from './scenario.js'
import { summarizeServerFacts } from './server-facts.js'

/** Phase reported to `onProgress`. */
export type BenchPhase = 'prime' | 'warmup' | 'run'

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Name shown in reports. @default the URL */
  name?: string
  /** `http://host:port/path/{id}`; with `scenario`, only its origin is used. */
  url: string
  /** A validated scenario (see `resolveScenario`, `loadScenarioFile`). @default one GET of `url` */
  scenario?: ResolvedScenario
  /** `'autocannon'`, `'wrk'` or a custom engine. @default 'autocannon' */
  engine?: BenchEngineName | BenchEngine
  /** @default 50 */
  connections?: number
  /** Measured duration. @default '10s' */
  duration?: Duration | string
  /** Warm-up before measuring; not counted. `0` to skip. @default '2s' */
  warmup?: Duration | string
  /** Overall requests per second (autocannon only). @default unlimited */
  rate?: number
  /** Requests in flight per connection. @default 1 */
  pipelining?: number
  /** Per-request timeout. @default '10s' */
  timeout?: Duration | string
  /** wrk threads. @default 1 */
  threads?: number
  /** Read `X-Cache` / `Server-Timing` of every response. @default true */
  serverFacts?: boolean
  /** Fetch each replayed URL once before warm-up to learn its ETag. @default true */
  prime?: boolean
  /** Path of wrk. @default detected */
  wrkPath?: string
  onProgress?: (phase: BenchPhase, elapsedMs: number, totalMs: number, responses: number) => void
  signal?: AbortSignal
}

/** {@link BenchOptions} with defaults applied. */
export interface ResolvedBenchOptions {
  readonly name: string
  readonly origin: string
  readonly scenario: ResolvedScenario
  readonly engine: BenchEngine
  readonly connections: number
  readonly durationMs: number
  readonly warmupMs: number
  readonly rate: number | null
  readonly pipelining: number
  readonly timeoutMs: number
  readonly threads: number
  readonly serverFacts: boolean
  readonly prime: boolean
}

function positiveInteger(value: number | undefined, fallback: number, option: string): number {
  const resolved = value ?? fallback
  if (!Number.isInteger(resolved) || resolved < 1)
    throw new InvalidOptionError(option, value, 'an integer >= 1')
  return resolved
}

/** Validate options and apply defaults, once. */
export function resolveBenchOptions(options: BenchOptions): ResolvedBenchOptions {
  const scenario = options.scenario ?? scenarioFromUrl(options.url)
  const origin = originOf(options.url)
  let engine: BenchEngine
  if (options.engine === undefined || options.engine === 'autocannon') engine = autocannonEngine
  else if (options.engine === 'wrk')
    engine = createWrkEngine(options.wrkPath ? { wrkPath: options.wrkPath } : {})
  else if (typeof options.engine === 'object') engine = options.engine
  else throw new InvalidOptionError('engine', options.engine, "'autocannon' or 'wrk'")
  const durationMs = parseDuration(options.duration ?? DEFAULT_DURATION, 'duration')
  if (durationMs < 100) throw new InvalidOptionError('duration', options.duration, 'at least 100ms')
  if (options.rate !== undefined && !(options.rate > 0)) {
    throw new InvalidOptionError('rate', options.rate, 'a number of requests per second > 0')
  }
  if (options.rate !== undefined && engine.name === 'wrk') {
    throw new InvalidOptionError(
      'rate',
      options.rate,
      "no rate with wrk (it has no rate limit); use engine 'autocannon'",
    )
  }
  return Object.freeze({
    name: options.name ?? options.url,
    origin,
    scenario,
    engine,
    connections: positiveInteger(options.connections, DEFAULT_CONNECTIONS, 'connections'),
    durationMs,
    warmupMs: parseDuration(options.warmup ?? DEFAULT_WARMUP, 'warmup'),
    rate: options.rate ?? null,
    pipelining: positiveInteger(options.pipelining, DEFAULT_PIPELINING, 'pipelining'),
    timeoutMs: parseDuration(options.timeout ?? DEFAULT_TIMEOUT, 'timeout'),
    threads: positiveInteger(options.threads, DEFAULT_WRK_THREADS, 'threads'),
    serverFacts: options.serverFacts ?? true,
    prime: options.prime ?? true,
  })
}

/**
 * Load one target: prime ETags (when the scenario replays them), warm up, then measure.
 *
 * @example
 * const result = await runBench({
 *   url: 'http://127.0.0.1:3000/items/{id}',
 *   scenario: scenarioFromUrl('http://127.0.0.1:3000/items/{id}', { ids: '1..1000', dist: 'zipf' }),
 *   connections: 50,
 *   duration: '10s',
 * })
 * console.log(result.requests.perSecond, result.latency.p99)
 */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const resolved = resolveBenchOptions(options)
  const etags = new Map<string, string>()
  const startedAt = new Date().toISOString()
  if (resolved.prime && resolved.scenario.requests.some((r) => r.replayEtag)) {
    options.onProgress?.('prime', 0, 0, 0)
    await primeEtags(resolved.origin, resolved.scenario, etags)
  }
  const base = {
    origin: resolved.origin,
    scenario: resolved.scenario,
    connections: resolved.connections,
    pipelining: resolved.pipelining,
    timeoutMs: resolved.timeoutMs,
    rate: resolved.rate,
    threads: resolved.threads,
    etags,
    ...(options.signal ? { signal: options.signal } : {}),
  }
  if (resolved.warmupMs > 0) {
    await resolved.engine.run({
      ...base,
      durationMs: resolved.warmupMs,
      serverFacts: false,
      onProgress: (elapsed, responses) =>
        options.onProgress?.('warmup', elapsed, resolved.warmupMs, responses),
    })
  }
  const measured = await resolved.engine.run({
    ...base,
    durationMs: resolved.durationMs,
    serverFacts: resolved.serverFacts,
    onProgress: (elapsed, responses) => options.onProgress?.('run', elapsed, resolved.durationMs, responses),
  })
  return toBenchResult(resolved, measured, startedAt, options.url)
}

/** Combine an engine's measurements with the run's identity into a {@link BenchResult}. */
export function toBenchResult(
  resolved: ResolvedBenchOptions,
  measured: EngineRunResult,
  startedAt: string,
  url: string,
): BenchResult {
  const { http, timeouts, resets, other } = measured.errors
  const transport = timeouts + resets + other
  const total = http + transport
  const attempts = measured.responses + transport
  const seconds = measured.durationMs / 1_000
  return {
    kind: 'hotpath-bench-result',
    version: 1,
    target: resolved.name,
    url,
    engine: resolved.engine.name,
    startedAt,
    options: {
      connections: resolved.connections,
      durationMs: resolved.durationMs,
      warmupMs: resolved.warmupMs,
      pipelining: resolved.pipelining,
      timeoutMs: resolved.timeoutMs,
      rate: resolved.rate,
      threads: resolved.engine.name === 'wrk' ? resolved.threads : null,
    },
    durationMs: measured.durationMs,
    requests: { total: measured.responses, perSecond: seconds > 0 ? measured.responses / seconds : 0 },
    throughput: { bytes: measured.bytes, bytesPerSecond: seconds > 0 ? measured.bytes / seconds : 0 },
    latency: measured.latency,
    statusCodes: measured.statusCodes,
    errors: { http, timeouts, resets, other, total, rate: attempts === 0 ? 1 : total / attempts },
    server: summarizeServerFacts(measured.cacheValues, measured.timing),
    client: measured.client,
  }
}

/** GET each distinct replayed URL the plan will send (up to a limit) and remember its ETag. */
async function primeEtags(
  origin: string,
  scenario: ResolvedScenario,
  etags: Map<string, string>,
): Promise<void> {
  const plan = createRequestPlan(scenario)
  const paths = new Set<string>()
  for (let i = 0; i < DEFAULT_PRIME_LIMIT * 4 && paths.size < DEFAULT_PRIME_LIMIT; i++) {
    const planned = plan.next()
    if (planned.replayEtag && (planned.method === 'GET' || planned.method === 'HEAD')) paths.add(planned.path)
  }
  const queue = [...paths]
  const worker = async () => {
    for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
      try {
        const response = await request(`${origin}${path}`, { method: 'GET' })
        await response.body.dump()
        const etag = response.headers.etag
        if (response.statusCode === 200 && typeof etag === 'string') etags.set(path, etag)
      } catch {
        // A failed prime only means this URL starts without If-None-Match.
      }
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
}
