import diagnostics from 'node:diagnostics_channel'
import { monitorEventLoopDelay } from 'node:perf_hooks'

import { Counter, Gauge, Histogram, Registry } from 'prom-client'

import {
  CACHE_HIT_CHANNEL,
  CACHE_LOAD_CHANNEL,
  CACHE_MISS_CHANNEL,
  CACHE_STALE_CHANNEL,
  DEFAULT_EVENT_LOOP_RESOLUTION_MS,
  DEFAULT_HTTP_BUCKETS,
  DEFAULT_QUERY_BUCKETS,
} from './defaults.js'
import { HttpHistogram } from './http-histogram.js'
import { sqlOperation } from './sql-shape.js'
import { watchQueries } from './query-watcher.js'
import { InvalidOptionError } from '../errors.js'

type MaybePromise<T> = T | Promise<T>

/** Cumulative cache counters of one tier and namespace, as a cache's `stats()` reports them. */
export interface CacheStatsSnapshot {
  tier: string
  namespace: string
  hits: number
  misses: number
  stale: number
}

/** The part of a Hotpath cache {@link cacheStatsSource} reads (typed by shape, not by import). */
export interface CacheStatsProvider {
  /** The namespace path (`''` for the root cache). */
  readonly name: string
  stats(): {
    readonly l1: { readonly hits: number; readonly misses: number; readonly stale: number }
    readonly l2: { readonly hits: number; readonly misses: number; readonly stale: number }
  }
}

/**
 * A `cacheStats` source over Hotpath caches: one snapshot per cache and tier, labelled with the
 * cache's namespace (`root` for the root cache). Pass one cache per `createCache()`: its namespaces
 * share the counters of their cache.
 *
 * @example
 * new HotpathMetrics({ cacheStats: cacheStatsSource(itemsCache, sessionsCache) })
 */
export function cacheStatsSource(...caches: CacheStatsProvider[]): () => CacheStatsSnapshot[] {
  return () =>
    caches.flatMap((cache) => {
      const stats = cache.stats()
      const namespace = cache.name === '' ? 'root' : cache.name
      return [
        { tier: 'l1', namespace, hits: stats.l1.hits, misses: stats.l1.misses, stale: stats.l1.stale },
        { tier: 'l2', namespace, hits: stats.l2.hits, misses: stats.l2.misses, stale: stats.l2.stale },
      ]
    })
}

/** Write-behind queue state. */
export interface WriteBehindStats {
  /** Acknowledged writes not yet in the database. */
  pending: number
  /** Age of the oldest pending write, in milliseconds. */
  lagMs: number
}

/** Database connection pool state. */
export interface PoolStats {
  total: number
  idle: number
  waiting: number
}

/** A cache event published on `hotpath:cache:hit|miss|stale|load`. */
export interface CacheEventMessage {
  tier?: string
  namespace?: string
  /** Loader duration (`hotpath:cache:load` only). */
  durationMs?: number
}

export interface HotpathMetricsOptions {
  /**
   * Prefix of every metric name.
   * @default 'hotpath_'
   */
  prefix?: string
  /**
   * Registry to register in. Hotpath never uses prom-client's global registry.
   * @default a new Registry
   */
  registry?: Registry
  /**
   * Pull source of cache counters (e.g. `() => cache.stats()` mapped to snapshots). When given,
   * cache counters come from it at scrape time and `hotpath:cache:*` hit/miss/stale events are ignored.
   * @default undefined (counters follow `hotpath:cache:*` events)
   */
  cacheStats?: () => MaybePromise<Iterable<CacheStatsSnapshot>>
  /**
   * Write-behind queue gauges source.
   * @default undefined (gauges not exported)
   */
  writeBehind?: () => MaybePromise<WriteBehindStats>
  /**
   * Database pool gauges source.
   * @default undefined (gauges not exported)
   */
  pool?: () => MaybePromise<PoolStats>
  /**
   * Count and time queries published on `hotpath:db:query`.
   * @default true
   */
  dbQueries?: boolean
  /**
   * Follow `hotpath:cache:*` diagnostics channels.
   * @default true
   */
  cacheEvents?: boolean
  /**
   * HTTP duration histogram buckets, in seconds.
   * @default DEFAULT_HTTP_BUCKETS
   */
  httpBuckets?: number[]
  /**
   * `monitorEventLoopDelay` resolution in milliseconds.
   * @default 10
   */
  eventLoopResolutionMs?: number
}

/**
 * The Prometheus metrics of a Hotpath service, in their own prom-client {@link Registry}: HTTP
 * durations, cache hits/misses/stale per tier and namespace, loader durations, write-behind,
 * DB queries, pool, event-loop delay, heap and RSS. Framework-free; the Fastify plugin feeds
 * `observeHttp` and serves `metrics()`.
 *
 * Event-loop delay gauges describe the interval since the previous scrape.
 *
 * @example
 * const metrics = new HotpathMetrics({ pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }) })
 * metrics.observeHttp('GET', '/items/:id', 200, 0.0012)
 * const text = await metrics.metrics()
 */
export class HotpathMetrics {
  readonly registry: Registry
  private readonly http: HttpHistogram
  private readonly cache: Counter<'tier' | 'namespace' | 'result'>
  private readonly loader: Histogram<'namespace'>
  private readonly cleanups: Array<() => void> = []

  constructor(options: HotpathMetricsOptions = {}) {
    const prefix = options.prefix ?? 'hotpath_'
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/u.test(prefix)) {
      throw new InvalidOptionError('prefix', prefix, 'a Prometheus metric name prefix such as "hotpath_"')
    }
    const resolution = options.eventLoopResolutionMs ?? DEFAULT_EVENT_LOOP_RESOLUTION_MS
    if (!Number.isInteger(resolution) || resolution < 1) {
      throw new InvalidOptionError('eventLoopResolutionMs', resolution, 'an integer >= 1')
    }
    const registry = options.registry ?? new Registry()
    this.registry = registry
    const registers = [registry]

    this.http = new HttpHistogram({
      name: `${prefix}http_request_duration_seconds`,
      help: 'HTTP request duration by route pattern, method and status code.',
      buckets: options.httpBuckets ?? DEFAULT_HTTP_BUCKETS,
      registry,
    })

    const cacheStats = options.cacheStats
    this.cache = new Counter({
      name: `${prefix}cache_requests_total`,
      help: 'Cache lookups by tier, namespace and result (hit, miss, stale).',
      labelNames: ['tier', 'namespace', 'result'],
      registers,
      ...(cacheStats === undefined
        ? {}
        : {
            async collect(this: Counter<'tier' | 'namespace' | 'result'>) {
              this.reset()
              for (const s of await cacheStats()) {
                const labels = { tier: s.tier, namespace: s.namespace }
                this.inc({ ...labels, result: 'hit' }, s.hits)
                this.inc({ ...labels, result: 'miss' }, s.misses)
                this.inc({ ...labels, result: 'stale' }, s.stale)
              }
            },
          }),
    })
    this.loader = new Histogram({
      name: `${prefix}cache_loader_duration_seconds`,
      help: 'Cache loader (fill) durations by namespace.',
      labelNames: ['namespace'],
      buckets: DEFAULT_QUERY_BUCKETS,
      registers,
    })

    const writeBehind = options.writeBehind
    if (writeBehind !== undefined) {
      let last: Promise<WriteBehindStats> | null = null
      // Both gauges read one snapshot per scrape.
      const snapshot = () =>
        (last ??= Promise.resolve(writeBehind()).finally(() => setImmediate(() => (last = null))))
      new Gauge({
        name: `${prefix}write_behind_pending`,
        // prom-client's AggregatorRegistry: the queue is shared: every worker reads the same figure.
        aggregator: 'max',
        help: 'Acknowledged writes not yet written to the database.',
        registers,
        async collect() {
          this.set((await snapshot()).pending)
        },
      })
      new Gauge({
        name: `${prefix}write_behind_lag_seconds`,
        // prom-client's AggregatorRegistry: the queue is shared: every worker reads the same figure.
        aggregator: 'max',
        help: 'Age of the oldest pending write-behind entry.',
        registers,
        async collect() {
          this.set((await snapshot()).lagMs / 1000)
        },
      })
    }

    const pool = options.pool
    if (pool !== undefined) {
      new Gauge({
        name: `${prefix}db_pool_connections`,
        help: 'Database pool connections by state (total, idle, waiting clients).',
        labelNames: ['state'],
        registers,
        async collect() {
          const stats = await pool()
          this.set({ state: 'total' }, stats.total)
          this.set({ state: 'idle' }, stats.idle)
          this.set({ state: 'waiting' }, stats.waiting)
        },
      })
    }

    if (options.dbQueries ?? true) {
      const queries = new Histogram({
        name: `${prefix}db_query_duration_seconds`,
        help: 'Database query durations by dialect and operation.',
        labelNames: ['dialect', 'operation'],
        buckets: DEFAULT_QUERY_BUCKETS,
        registers,
      })
      const counts = new Counter({
        name: `${prefix}db_queries_total`,
        help: 'Database queries by dialect, operation and outcome (ok, error).',
        labelNames: ['dialect', 'operation', 'outcome'],
        registers,
      })
      this.cleanups.push(
        watchQueries((event) => {
          const operation = sqlOperation(event.sql)
          const dialect = event.dialect ?? 'unknown'
          queries.observe({ dialect, operation }, event.durationMs / 1000)
          counts.inc({ dialect, operation, outcome: event.error === undefined ? 'ok' : 'error' })
        }),
      )
    }

    if (options.cacheEvents ?? true) {
      const follow = (channel: string, handler: (message: CacheEventMessage) => void) => {
        const listener = (message: unknown) => {
          if (typeof message === 'object' && message !== null) handler(message as CacheEventMessage)
        }
        diagnostics.subscribe(channel, listener)
        this.cleanups.push(() => diagnostics.unsubscribe(channel, listener))
      }
      if (cacheStats === undefined) {
        follow(CACHE_HIT_CHANNEL, (m) => this.recordCache(m.tier, m.namespace, 'hit'))
        follow(CACHE_MISS_CHANNEL, (m) => this.recordCache(m.tier, m.namespace, 'miss'))
        follow(CACHE_STALE_CHANNEL, (m) => this.recordCache(m.tier, m.namespace, 'stale'))
      }
      follow(CACHE_LOAD_CHANNEL, (m) => {
        // Same naming as the cache stats source: the root cache is `root`.
        if (typeof m.durationMs === 'number') this.observeLoader(m.namespace || 'root', m.durationMs)
      })
    }

    const eventLoop = monitorEventLoopDelay({ resolution })
    eventLoop.enable()
    this.cleanups.push(() => eventLoop.disable())
    new Gauge({
      name: `${prefix}event_loop_delay_seconds`,
      // prom-client's AggregatorRegistry: merged across cluster workers: the worst loop, not a sum.
      aggregator: 'max',
      help: 'Event-loop delay since the previous scrape (monitorEventLoopDelay), by statistic.',
      labelNames: ['stat'],
      registers,
      collect() {
        // An empty histogram reports a huge min and NaN mean; report zeros instead.
        const empty = eventLoop.count === 0
        const seconds = (ns: number) => (empty || !Number.isFinite(ns) ? 0 : ns / 1e9)
        this.set({ stat: 'mean' }, seconds(eventLoop.mean))
        this.set({ stat: 'p50' }, seconds(eventLoop.percentile(50)))
        this.set({ stat: 'p99' }, seconds(eventLoop.percentile(99)))
        this.set({ stat: 'max' }, seconds(eventLoop.max))
        eventLoop.reset()
      },
    })

    new Gauge({
      name: `${prefix}process_memory_bytes`,
      help: 'Process memory by kind (rss, heap_used, heap_total, external).',
      labelNames: ['kind'],
      registers,
      collect() {
        const memory = process.memoryUsage()
        this.set({ kind: 'rss' }, memory.rss)
        this.set({ kind: 'heap_used' }, memory.heapUsed)
        this.set({ kind: 'heap_total' }, memory.heapTotal)
        this.set({ kind: 'external' }, memory.external)
      },
    })
  }

  /** Record one HTTP request. `route` must be the route pattern, never the raw URL (cardinality). */
  observeHttp(method: string, route: string, statusCode: number, seconds: number): void {
    this.http.observe(method, route, statusCode, seconds)
  }

  /** Count one cache lookup (when the cache reports by call rather than through a stats source). */
  recordCache(tier = 'unknown', namespace = 'default', result: 'hit' | 'miss' | 'stale'): void {
    this.cache.inc({ tier, namespace, result })
  }

  /** Record one loader (fill) duration. */
  observeLoader(namespace = 'default', durationMs: number): void {
    this.loader.observe({ namespace }, durationMs / 1000)
  }

  /** The exposition text. */
  metrics(): Promise<string> {
    return this.registry.metrics()
  }

  /** `Content-Type` of {@link metrics}. */
  get contentType(): string {
    return this.registry.contentType
  }

  /** Stop listening to channels and the event-loop monitor. */
  close(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup()
  }
}
