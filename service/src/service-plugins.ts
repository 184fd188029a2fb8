import cluster from 'node:cluster'
import { dashboardPlugin } from '../../src/fastify/dashboard/dashboard-plugin.js'
import { registerWriteBehindMetrics } from '../../src/cache/strategies/write-behind-metrics.js'
import { httpCache } from '../../src/fastify/http-cache.js'
import { metricsPlugin } from '../../src/fastify/metrics.js'
import { profilingPlugin } from '../../src/fastify/profiling.js'
import { serverTimingPlugin } from '../../src/fastify/server-timing.js'
import { staticAssets } from '../../src/fastify/static-assets.js'
import { cacheStatsSource, type PoolStats } from '../../src/profiling/metrics.js'
import { workerMetricsSource } from './cluster/cluster-metrics.js'
import type { ServiceApp } from './context.js'
import { exportRoutes } from './exports/export-routes.js'
import { statsPlugin } from './stats/stats-plugin.js'

/**
 * Register the library's Fastify plugins on the service from its configuration: HTTP caching
 * (validators, 304/412/428, Cache-Control, and the response cache when `HTTP_CACHE=on`),
 * Server-Timing, `/metrics`, profiling with the slow-query log, N+1 and blocking detectors, the
 * exports and the price statistics endpoint.
 *
 * A setup step given to `buildApp` that already registered one of them wins: the HTTP cache when
 * `app.httpCache` exists, every diagnostics plugin when any Hotpath diagnostics plugin was
 * registered, and the export and stats routes when their paths exist.
 */
export async function registerServicePlugins(app: ServiceApp): Promise<void> {
  const { config, database, cache } = app.service
  const diagnostics = config.diagnostics

  if (!app.hasDecorator('httpCache')) {
    await app.register(httpCache, {
      ...(config.httpCache && cache ? { cache: cache.cache } : {}),
      fastLane: config.fastLane,
      // A stored response answers before validation runs, so with a store the plugin must reject
      // undeclared parameters itself; without one the service's validator answers (E_VALIDATION).
      unknownQuery: config.httpCache ? 'reject' : 'ignore',
      // `?profile=1` is the profiler's switch, not part of any route's key.
      ...(diagnostics.profiling ? { ignoredQuery: ['profile'] } : {}),
    })
  }

  if (!app.hasDecorator('hotpathDiagnostics')) {
    // Only `full` Server-Timing and the N+1 detector attribute channel events to requests: that
    // needs AsyncLocalStorage, which on Node 20 doubles the CPU of a cached item read.
    if (diagnostics.serverTiming !== 'off') {
      const full = diagnostics.serverTiming === 'full'
      // `on` still names the tier of in-memory hits (published synchronously in the handler).
      await app.register(serverTimingPlugin, { db: full, attribution: full ? 'async' : 'sync' })
    }
    if (diagnostics.metrics) {
      const raw = database.raw
      // Under `serve --workers N` a scrape reaches one worker: it serves the merged metrics of all
      // (its registry joins the primary's aggregation right after registering, not at the first
      // scrape: the primary asks every worker at once).
      let merged: (() => Promise<string>) | undefined
      await app.register(metricsPlugin, {
        ...(diagnostics.metricsToken === undefined ? {} : { token: diagnostics.metricsToken }),
        ...(cluster.isWorker ? { source: () => merged!() } : {}),
        ...(cache ? { cacheStats: cacheStatsSource(cache.cache) } : {}),
        ...(raw.dialect === 'postgres'
          ? {
              pool: (): PoolStats => ({
                total: raw.pool.totalCount,
                idle: raw.pool.idleCount,
                waiting: raw.pool.waitingCount,
              }),
            }
          : {}),
      })
      if (cluster.isWorker) merged = workerMetricsSource(app.hotpathMetrics.registry)
      // WRITE_STRATEGY=behind: pending writes, flush lag, flushed / retried / dead-lettered counters.
      if (app.writeBehind !== undefined) {
        registerWriteBehindMetrics(app.writeBehind, app.hotpathMetrics.registry)
      }
    }
    const slow = diagnostics.slowQueryMs
    const nPlusOne = diagnostics.nPlusOneThreshold
    const blocking = diagnostics.blockingThresholdMs
    if (diagnostics.profiling || slow > 0 || nPlusOne > 0 || blocking > 0) {
      await app.register(profilingPlugin, {
        enabled: diagnostics.profiling,
        ...(diagnostics.adminToken === undefined ? {} : { adminToken: diagnostics.adminToken }),
        ...(diagnostics.profilesDir === undefined ? {} : { dir: diagnostics.profilesDir }),
        // The slow-query log names the route only when something else already pays for the context.
        slowQuery: slow > 0 ? { threshold: slow, routes: false } : false,
        nPlusOne: nPlusOne > 0 ? { threshold: nPlusOne } : false,
        blocking: blocking > 0 ? { threshold: blocking } : false,
      })
    }
  }

  // After metrics and profiling: the dashboard reads the metrics and the N+1 detector's counts.
  if (config.dashboard && diagnostics.adminToken !== undefined && !app.hasDecorator('hotpathDashboard')) {
    await app.register(dashboardPlugin, {
      adminToken: diagnostics.adminToken,
      slowQuery: diagnostics.slowQueryMs > 0 ? diagnostics.slowQueryMs : false,
      ...(diagnostics.nPlusOneThreshold > 0 ? { nPlusOneThreshold: diagnostics.nPlusOneThreshold } : {}),
    })
  }
  if (config.staticDir !== undefined) {
    await app.register(staticAssets, {
      root: config.staticOutDir,
      sources: [{ dir: config.staticDir }],
      prefix: '/static/',
    })
  }

  if (!app.hasRoute({ method: 'GET', url: '/export/items.csv' })) {
    await app.register(exportRoutes, { database })
  }
  if (!app.hasRoute({ method: 'GET', url: '/stats/prices' })) await app.register(statsPlugin)
}
