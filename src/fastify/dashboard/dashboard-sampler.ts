import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

import type { Registry } from 'prom-client'

import type { WriteBehindStats } from '../../profiling/metrics.js'

/** What the dashboard shows about HTTP traffic over the last interval. */
export interface HttpFigures {
  /** Requests per second (every route except the excluded admin prefixes). */
  rps: number
  /** 5xx responses per second. */
  errorRps: number
  /** Latency percentiles in milliseconds, estimated from the histogram buckets; null when idle. */
  p50Ms: number | null
  p90Ms: number | null
  p99Ms: number | null
}

/** Cumulative cache counters of one namespace. */
export interface NamespaceFigures {
  namespace: string
  l1Hits: number
  l2Hits: number
  misses: number
  stale: number
  /** Hits over lookups since the process started; null before the first lookup. */
  hitRatio: number | null
}

/** Cache figures over the last interval (plus cumulative per-namespace counters). */
export interface CacheFigures {
  lookupsPerS: number
  /** Share of lookups answered by L1, by L2, and by neither (the loader ran); null when idle. */
  hitRatio: number | null
  l1: number | null
  l2: number | null
  miss: number | null
  /** Stale entries served per second, and since the process started. */
  stalePerS: number
  staleTotal: number
  /** Loader (fill) calls per second and their mean duration in milliseconds. */
  loadsPerS: number
  loaderMeanMs: number | null
  namespaces: NamespaceFigures[]
}

/** One dashboard sample, pushed to every connected client once per interval. */
export interface DashboardSample {
  /** Epoch milliseconds when the sample was taken. */
  t: number
  /** Seconds covered by the rates of this sample. */
  intervalS: number
  /** Null when no metrics registry is available. */
  http: HttpFigures | null
  cache: CacheFigures | null
  /** Null when the app has no write-behind queue (or its stats did not answer in time). */
  writeBehind: WriteBehindStats | null
  /** Event-loop delay over the interval, in milliseconds. */
  eventLoop: { p50Ms: number; p99Ms: number; maxMs: number }
  memory: { rssBytes: number; heapUsedBytes: number; heapTotalBytes: number }
}

export interface DashboardSamplerOptions {
  /** The metrics registry (the metrics plugin's `hotpathMetrics.registry`), looked up when sampling. */
  registry: () => Registry | undefined
  /** Write-behind stats source, looked up on every sample (the queue may appear after start). */
  writeBehind: () => (() => Promise<WriteBehindStats>) | undefined
  /** Routes starting with one of these are left out of the HTTP figures (the admin routes). */
  excludeRoutePrefixes: readonly string[]
  /** Milliseconds between samples. */
  intervalMs: number
  /** Longest wait for write-behind stats before the sample goes out without them. */
  writeBehindTimeoutMs: number
  /** Called with each sample. */
  onSample: (sample: DashboardSample) => void
}

interface Counts {
  http: { count: number; errors: number; buckets: Map<number, number> }
  cache: Map<string, number>
  loader: { count: number; sum: number }
}

const EMPTY_COUNTS: Counts = {
  http: { count: 0, errors: 0, buckets: new Map() },
  cache: new Map(),
  loader: { count: 0, sum: 0 },
}

interface MetricValue {
  labels: Record<string, string | number | undefined>
  value: number
  metricName?: string
}
interface ReadableMetric {
  name: string
  get(): Promise<{ values: MetricValue[] }> | { values: MetricValue[] }
}

/**
 * Samples the dashboard figures once per interval, but only while it is started: the dashboard
 * starts it when the first client connects and stops it when the last one leaves, so nobody
 * watching costs nothing (no timer, no event-loop monitor). Rates are deltas of the cumulative
 * prom-client metrics between two samples; the event-loop histogram is its own, so the dashboard
 * never resets the one `/metrics` reports.
 */
export class DashboardSampler {
  private timer: NodeJS.Timeout | null = null
  private eventLoop: IntervalHistogram | null = null
  private previous: Counts = EMPTY_COUNTS
  private previousAt = 0
  private busy = false

  constructor(private readonly options: DashboardSamplerOptions) {}

  /** Whether the sampling timer is running. */
  get running(): boolean {
    return this.timer !== null
  }

  start(): void {
    if (this.timer !== null) return
    this.eventLoop = monitorEventLoopDelay({ resolution: 10 })
    this.eventLoop.enable()
    this.previousAt = performance.now()
    this.previous = EMPTY_COUNTS
    // The first sample only sets the baseline counters; rates start with the second one.
    void this.read().then(
      (counts) => (this.previous = counts),
      () => undefined,
    )
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer === null) return
    clearInterval(this.timer)
    this.timer = null
    this.eventLoop?.disable()
    this.eventLoop = null
  }

  private async tick(): Promise<void> {
    // A slow metrics source must not pile samples up.
    if (this.busy) return
    this.busy = true
    try {
      const [counts, writeBehind] = await Promise.all([this.read(), this.readWriteBehind()])
      if (this.timer === null) return
      const now = performance.now()
      const seconds = Math.max((now - this.previousAt) / 1000, 0.001)
      const sample = this.sample(counts, this.previous, seconds, writeBehind)
      this.previous = counts
      this.previousAt = now
      this.options.onSample(sample)
    } catch {
      // A failing metric collector skips one sample; the next tick tries again.
    } finally {
      this.busy = false
    }
  }

  private sample(
    counts: Counts,
    previous: Counts,
    seconds: number,
    writeBehind: WriteBehindStats | null,
  ): DashboardSample {
    const loop = this.eventLoop
    const ms = (ns: number) => (loop === null || loop.count === 0 || !Number.isFinite(ns) ? 0 : ns / 1e6)
    const eventLoop = {
      p50Ms: round(ms(loop?.percentile(50) ?? 0)),
      p99Ms: round(ms(loop?.percentile(99) ?? 0)),
      maxMs: round(ms(loop?.max ?? 0)),
    }
    loop?.reset()
    const memory = process.memoryUsage()
    const metrics = this.options.registry() !== undefined
    return {
      t: Date.now(),
      intervalS: round(seconds),
      http: metrics ? httpFigures(counts, previous, seconds) : null,
      cache: metrics ? cacheFigures(counts, previous, seconds) : null,
      writeBehind,
      eventLoop,
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal },
    }
  }

  private async readWriteBehind(): Promise<WriteBehindStats | null> {
    const source = this.options.writeBehind()
    if (source === undefined) return null
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        source().then((stats) => ({ pending: stats.pending, lagMs: stats.lagMs })),
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), this.options.writeBehindTimeoutMs)
        }),
      ])
    } catch {
      return null
    } finally {
      clearTimeout(timer)
    }
  }

  /** The cumulative counters, read from the registry without touching metrics that reset on read. */
  private async read(): Promise<Counts> {
    const registry = this.options.registry()
    if (registry === undefined) return EMPTY_COUNTS
    const find = (suffix: string) =>
      (registry.getMetricsAsArray() as unknown as ReadableMetric[]).find((metric) =>
        metric.name.endsWith(suffix),
      )
    const counts: Counts = {
      http: { count: 0, errors: 0, buckets: new Map() },
      cache: new Map(),
      loader: { count: 0, sum: 0 },
    }
    const http = find('http_request_duration_seconds')
    if (http !== undefined) {
      const excluded = this.options.excludeRoutePrefixes
      for (const value of (await http.get()).values) {
        const route = String(value.labels.route ?? '')
        if (excluded.some((prefix) => route.startsWith(prefix))) continue
        if (value.metricName?.endsWith('_bucket') === true) {
          const le = value.labels.le === '+Inf' ? Infinity : Number(value.labels.le)
          counts.http.buckets.set(le, (counts.http.buckets.get(le) ?? 0) + value.value)
        } else if (value.metricName?.endsWith('_count') === true) {
          counts.http.count += value.value
          if (Number(value.labels.status_code) >= 500) counts.http.errors += value.value
        }
      }
    }
    const cache = find('cache_requests_total')
    if (cache !== undefined) {
      for (const value of (await cache.get()).values) {
        const key = `${value.labels.namespace ?? 'default'}\u0000${value.labels.tier ?? 'unknown'}\u0000${value.labels.result ?? ''}`
        counts.cache.set(key, (counts.cache.get(key) ?? 0) + value.value)
      }
    }
    const loader = find('cache_loader_duration_seconds')
    if (loader !== undefined) {
      for (const value of (await loader.get()).values) {
        if (value.metricName?.endsWith('_count') === true) counts.loader.count += value.value
        else if (value.metricName?.endsWith('_sum') === true) counts.loader.sum += value.value
      }
    }
    return counts
  }
}

function httpFigures(counts: Counts, previous: Counts, seconds: number): HttpFigures {
  const requests = delta(counts.http.count, previous.http.count)
  const bounds = [...counts.http.buckets.keys()].sort((a, b) => a - b)
  const cumulative = bounds.map((le) =>
    delta(counts.http.buckets.get(le) ?? 0, previous.http.buckets.get(le) ?? 0),
  )
  const quantile = (q: number) => histogramQuantile(q, bounds, cumulative)
  return {
    rps: round(requests / seconds),
    errorRps: round(delta(counts.http.errors, previous.http.errors) / seconds),
    p50Ms: quantile(0.5),
    p90Ms: quantile(0.9),
    p99Ms: quantile(0.99),
  }
}

/**
 * Prometheus' `histogram_quantile` over cumulative bucket counts (upper bounds ascending, the last
 * one `Infinity`), in milliseconds: linear interpolation inside the bucket holding the rank.
 */
export function histogramQuantile(
  q: number,
  bounds: readonly number[],
  cumulative: readonly number[],
): number | null {
  const total = cumulative[cumulative.length - 1] ?? 0
  if (total <= 0) return null
  const rank = q * total
  for (let i = 0; i < bounds.length; i++) {
    const count = cumulative[i]!
    if (count < rank) continue
    const upper = bounds[i]!
    const lower = i === 0 ? 0 : bounds[i - 1]!
    // Above the last finite bound there is nothing to interpolate to.
    if (!Number.isFinite(upper)) return round(lower * 1000)
    const below = i === 0 ? 0 : cumulative[i - 1]!
    const inBucket = count - below
    const seconds = inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket
    return round(seconds * 1000)
  }
  return null
}

function cacheFigures(counts: Counts, previous: Counts, seconds: number): CacheFigures {
  const tiers = { l1: { hit: 0, miss: 0, stale: 0 }, l2: { hit: 0, miss: 0, stale: 0 } }
  const totals = { l2: 0, stale: 0 }
  const byNamespace = new Map<string, NamespaceFigures & { l1Misses: number; l2Misses: number }>()
  for (const [key, value] of counts.cache) {
    const [namespace = '', tier = '', result = ''] = key.split('\u0000')
    const change = delta(value, previous.cache.get(key) ?? 0)
    const figures =
      byNamespace.get(namespace) ??
      byNamespace
        .set(namespace, {
          namespace,
          l1Hits: 0,
          l2Hits: 0,
          misses: 0,
          stale: 0,
          hitRatio: null,
          l1Misses: 0,
          l2Misses: 0,
        })
        .get(namespace)!
    if (result === 'stale') {
      totals.stale += value
      figures.stale += value
    }
    if (tier !== 'l1' && tier !== 'l2') continue
    if (result !== 'hit' && result !== 'miss' && result !== 'stale') continue
    tiers[tier][result] += change
    if (tier === 'l2' && result !== 'stale') totals.l2 += value
    if (result === 'hit') figures[tier === 'l1' ? 'l1Hits' : 'l2Hits'] += value
    if (result === 'miss') figures[tier === 'l1' ? 'l1Misses' : 'l2Misses'] += value
  }
  // Like the cache's own hitRatio: a lookup is a miss when it missed the last tier it reached.
  const hasL2 = totals.l2 > 0
  const misses = hasL2 ? tiers.l2.miss : tiers.l1.miss
  const lookups = tiers.l1.hit + tiers.l2.hit + misses
  const share = (n: number) => (lookups === 0 ? null : round(n / lookups, 4))
  const namespaces = [...byNamespace.values()]
    .map(({ l1Misses, l2Misses, ...figures }) => {
      const missed = hasL2 ? l2Misses : l1Misses
      const total = figures.l1Hits + figures.l2Hits + missed
      return {
        ...figures,
        misses: missed,
        hitRatio: total === 0 ? null : round((figures.l1Hits + figures.l2Hits) / total, 4),
      }
    })
    .sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0))
  const loads = delta(counts.loader.count, previous.loader.count)
  const loadSeconds = delta(counts.loader.sum, previous.loader.sum)
  return {
    lookupsPerS: round(lookups / seconds),
    hitRatio: share(tiers.l1.hit + tiers.l2.hit),
    l1: share(tiers.l1.hit),
    l2: share(tiers.l2.hit),
    miss: share(misses),
    stalePerS: round((tiers.l1.stale + tiers.l2.stale) / seconds),
    staleTotal: totals.stale,
    loadsPerS: round(loads / seconds),
    loaderMeanMs: loads === 0 ? null : round((loadSeconds / loads) * 1000),
    namespaces,
  }
}

/** A counter's increase; a counter that went down was reset, so its whole value is new. */
function delta(current: number, previous: number): number {
  return current >= previous ? current - previous : current
}

function round(value: number, digits = 3): number {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}
