import type { ResolvedScenario } from '../scenario.js'
import type { ClientCpu, LatencySummary } from '../result.js'

/** What an engine needs to run one load phase. */
export interface EngineRunOptions {
  /** `http://host:port`. */
  origin: string
  scenario: ResolvedScenario
  connections: number
  durationMs: number
  pipelining: number
  timeoutMs: number
  /** Overall requests per second, or null for as fast as possible. */
  rate: number | null
  /** wrk threads (ignored by autocannon). */
  threads: number
  /** URL path → last ETag seen, shared across phases for `If-None-Match` replay. */
  etags: Map<string, string>
  /** Read `X-Cache` / `Server-Timing` on every response (costs client CPU). */
  serverFacts: boolean
  /** Called about every 250 ms with elapsed time and completed responses. */
  onProgress?: (elapsedMs: number, responses: number) => void
  signal?: AbortSignal
}

/** What an engine measured; the caller adds the target and options to make a `BenchResult`. */
export interface EngineRunResult {
  durationMs: number
  /** Completed responses (any status). */
  responses: number
  bytes: number
  latency: LatencySummary
  statusCodes: Record<string, number>
  errors: { http: number; timeouts: number; resets: number; other: number }
  cacheValues: Record<string, number>
  timing: Record<string, { sum: number; count: number }>
  client: ClientCpu
}

/** A load generator. */
export interface BenchEngine {
  readonly name: 'autocannon' | 'wrk'
  run(options: EngineRunOptions): Promise<EngineRunResult>
}
