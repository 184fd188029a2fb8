/** The shape of one benchmark run, as printed, saved with `--json` and drawn with `--html`. */

/** Which load generator produced a result. */
export type BenchEngineName = 'autocannon' | 'wrk'

/** Latency summary in milliseconds. */
export interface LatencySummary {
  avg: number
  stdev: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  /** Every measured percentile, `p` in percent (e.g. 99.9), for charts. */
  percentiles: { p: number; ms: number }[]
}

/** Failed requests by kind. */
export interface ErrorSummary {
  /** Responses with a status >= 400 (a 304 is a success: it is what `If-None-Match` replay asks for). */
  http: number
  timeouts: number
  /** Connection resets and socket read/write errors. */
  resets: number
  /** Connect errors and anything else the engine reports. */
  other: number
  total: number
  /** `total / (responses + transport errors)`, a fraction in [0, 1]. */
  rate: number
}

/** What the server said about itself through `X-Cache` and `Server-Timing` headers. */
export interface ServerFacts {
  /** Responses that carried an `X-Cache` header. */
  cacheResponses: number
  /** Count per raw `X-Cache` value, e.g. `{ "HIT l1": 900, "MISS": 100 }`. */
  cacheValues: Record<string, number>
  /** Hits / responses with `X-Cache`, or null when no response carried it. */
  hitRatio: number | null
  /** Hit ratio per tier named in the header (`l1`, `l2`, ...), over all `X-Cache` responses. */
  hitRatioByTier: Record<string, number>
  /** Average `dur` (ms) and count per `Server-Timing` metric name. */
  timing: Record<string, { avgMs: number; count: number }>
}

/** CPU used by the load generator itself. */
export interface ClientCpu {
  /** CPU time (user + system) in milliseconds spent by the client during the measured run. */
  cpuMs: number
  /** `cpuMs / wall time`: 1 means one core fully busy. */
  utilization: number
  /** Client CPU per completed request, in microseconds. */
  usPerRequest: number
  /** True when the client itself was close to saturating a core (see `warning`). */
  saturated: boolean
  /** Human sentence when saturated. */
  warning: string | null
  /** How the number was measured. */
  method: 'process.cpuUsage' | '/proc cutime' | '/proc sampling'
}

/** One benchmark run against one target. */
export interface BenchResult {
  kind: 'hotpath-bench-result'
  version: 1
  /** Name of the target (`name=url` on the command line, or the URL). */
  target: string
  url: string
  engine: BenchEngineName
  startedAt: string
  /** The options the run used, resolved. */
  options: {
    connections: number
    durationMs: number
    warmupMs: number
    pipelining: number
    timeoutMs: number
    rate: number | null
    threads: number | null
  }
  /** Measured wall time in milliseconds. */
  durationMs: number
  requests: { total: number; perSecond: number }
  /** Bytes received per second. */
  throughput: { bytes: number; bytesPerSecond: number }
  latency: LatencySummary
  statusCodes: Record<string, number>
  errors: ErrorSummary
  server: ServerFacts
  client: ClientCpu
}
