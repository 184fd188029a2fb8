import type { BenchResult } from '../../../src/bench/index.js'

/** A plausible result with overridable numbers, for report and budget tests. */
export function makeResult(
  overrides: {
    target?: string
    rps?: number
    avg?: number
    p99?: number
    errors?: number
    hitRatio?: number | null
    saturated?: boolean
  } = {},
): BenchResult {
  const rps = overrides.rps ?? 5_000
  const avg = overrides.avg ?? 8
  const p99 = overrides.p99 ?? 40
  return {
    kind: 'hotpath-bench-result',
    version: 1,
    target: overrides.target ?? 'service',
    url: 'http://127.0.0.1:3000/items/{id}',
    engine: 'wrk',
    startedAt: '2026-11-25T10:00:00.000Z',
    options: {
      connections: 50,
      durationMs: 10_000,
      warmupMs: 2_000,
      pipelining: 1,
      timeoutMs: 10_000,
      rate: null,
      threads: 1,
    },
    durationMs: 10_000,
    requests: { total: rps * 10, perSecond: rps },
    throughput: { bytes: rps * 10 * 300, bytesPerSecond: rps * 300 },
    latency: {
      avg,
      stdev: 2,
      p50: avg * 0.9,
      p90: avg * 2,
      p99,
      p999: p99 * 2,
      max: p99 * 3,
      percentiles: [
        { p: 50, ms: avg * 0.9 },
        { p: 90, ms: avg * 2 },
        { p: 99, ms: p99 },
        { p: 99.9, ms: p99 * 2 },
      ],
    },
    statusCodes: { '200': rps * 10 },
    errors: {
      http: 0,
      timeouts: 0,
      resets: 0,
      other: 0,
      total: Math.round((overrides.errors ?? 0) * rps * 10),
      rate: overrides.errors ?? 0,
    },
    server: {
      cacheResponses: overrides.hitRatio === null ? 0 : rps * 10,
      cacheValues: overrides.hitRatio === null ? {} : { 'HIT l1': 900, MISS: 100 },
      hitRatio: overrides.hitRatio === undefined ? 0.9 : overrides.hitRatio,
      hitRatioByTier: overrides.hitRatio === null ? {} : { l1: 0.9 },
      timing: { db: { avgMs: 1.25, count: 100 } },
    },
    client: {
      cpuMs: 1_000,
      utilization: overrides.saturated ? 0.97 : 0.3,
      usPerRequest: 20,
      saturated: overrides.saturated ?? false,
      warning: overrides.saturated ? 'the load generator used 97% of a core' : null,
      method: '/proc cutime',
    },
  }
}
