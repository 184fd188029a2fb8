import diagnostics from 'node:diagnostics_channel'

import { afterEach, describe, expect, it } from 'vitest'

import { parsePrometheusText, sampleValue } from './helpers/prometheus-text.js'
import { createCache } from '../../../src/cache/index.js'
import { publishDbQuery } from '../../../src/profiling/db-query-event.js'
import { cacheStatsSource, HotpathMetrics } from '../../../src/profiling/metrics.js'

let metrics: HotpathMetrics | undefined
afterEach(() => metrics?.close())

describe('HotpathMetrics', () => {
  it('exports every family as valid Prometheus text in its own registry', async () => {
    metrics = new HotpathMetrics({
      writeBehind: () => ({ pending: 7, lagMs: 1500 }),
      pool: async () => ({ total: 10, idle: 4, waiting: 1 }),
    })
    metrics.observeHttp('GET', '/items/:id', 200, 0.002)
    const samples = parsePrometheusText(await metrics.metrics())
    expect(
      sampleValue(samples, 'hotpath_http_request_duration_seconds_count', {
        route: '/items/:id',
        status_code: '200',
      }),
    ).toBe(1)
    expect(sampleValue(samples, 'hotpath_write_behind_pending')).toBe(7)
    expect(sampleValue(samples, 'hotpath_write_behind_lag_seconds')).toBe(1.5)
    expect(sampleValue(samples, 'hotpath_db_pool_connections', { state: 'idle' })).toBe(4)
    expect(sampleValue(samples, 'hotpath_process_memory_bytes', { kind: 'rss' })).toBeGreaterThan(0)
    expect(
      samples.some((s) => s.name === 'hotpath_event_loop_delay_seconds' && s.labels.stat === 'p99'),
    ).toBe(true)
    // Nothing lands in prom-client's global registry.
    const { register } = await import('prom-client')
    expect(await register.metrics()).not.toContain('hotpath_')
  })

  it('keeps HTTP histogram buckets cumulative per route, method and status, like prom-client', async () => {
    metrics = new HotpathMetrics()
    metrics.observeHttp('GET', '/items/:id', 200, 0.002)
    metrics.observeHttp('GET', '/items/:id', 200, 0.2)
    metrics.observeHttp('GET', '/items/:id', 200, 99)
    metrics.observeHttp('POST', '/items', 201, 0.002)
    const text = await metrics.metrics()
    expect(text).toContain('# TYPE hotpath_http_request_duration_seconds histogram')
    const samples = parsePrometheusText(text)
    const series = { method: 'GET', route: '/items/:id', status_code: '200' }
    const bucket = (le: string) =>
      sampleValue(samples, 'hotpath_http_request_duration_seconds_bucket', { ...series, le })
    expect(bucket('0.001')).toBe(0)
    expect(bucket('0.0025')).toBe(1)
    expect(bucket('0.25')).toBe(2)
    expect(bucket('10')).toBe(2)
    expect(bucket('+Inf')).toBe(3)
    expect(sampleValue(samples, 'hotpath_http_request_duration_seconds_count', series)).toBe(3)
    expect(sampleValue(samples, 'hotpath_http_request_duration_seconds_sum', series)).toBeCloseTo(99.202)
    expect(sampleValue(samples, 'hotpath_http_request_duration_seconds_count', { method: 'POST' })).toBe(1)
    await metrics.registry.resetMetrics()
    expect(await metrics.metrics()).not.toContain('hotpath_http_request_duration_seconds_count{')
  })

  it('counts DB queries from the channel by operation and outcome', async () => {
    metrics = new HotpathMetrics()
    publishDbQuery({ sql: 'select * from items where id = ?', durationMs: 3, dialect: 'sqlite' })
    publishDbQuery({ sql: 'select * from items where id = ?', durationMs: 5, dialect: 'sqlite' })
    publishDbQuery({
      sql: 'update items set x = ?',
      durationMs: 1,
      dialect: 'postgres',
      error: new Error('x'),
    })
    const samples = parsePrometheusText(await metrics.metrics())
    expect(sampleValue(samples, 'hotpath_db_queries_total', { operation: 'select', outcome: 'ok' })).toBe(2)
    expect(sampleValue(samples, 'hotpath_db_queries_total', { operation: 'update', outcome: 'error' })).toBe(
      1,
    )
    expect(sampleValue(samples, 'hotpath_db_query_duration_seconds_sum', { dialect: 'sqlite' })).toBeCloseTo(
      0.008,
    )
    metrics.close()
    publishDbQuery({ sql: 'select 1', durationMs: 1, dialect: 'sqlite' })
    const after = parsePrometheusText(await metrics.metrics())
    expect(sampleValue(after, 'hotpath_db_queries_total')).toBe(3)
  })

  it('counts cache events from hotpath:cache:* channels, or reads a stats source instead', async () => {
    metrics = new HotpathMetrics()
    diagnostics.channel('hotpath:cache:hit').publish({ tier: 'l1', namespace: 'items' })
    diagnostics.channel('hotpath:cache:hit').publish({ tier: 'l1', namespace: 'items' })
    diagnostics.channel('hotpath:cache:miss').publish({ tier: 'l2', namespace: 'items' })
    diagnostics.channel('hotpath:cache:load').publish({ namespace: 'items', durationMs: 12 })
    let samples = parsePrometheusText(await metrics.metrics())
    expect(sampleValue(samples, 'hotpath_cache_requests_total', { tier: 'l1', result: 'hit' })).toBe(2)
    expect(sampleValue(samples, 'hotpath_cache_requests_total', { tier: 'l2', result: 'miss' })).toBe(1)
    expect(sampleValue(samples, 'hotpath_cache_loader_duration_seconds_count', { namespace: 'items' })).toBe(
      1,
    )
    metrics.close()

    let hits = 5
    metrics = new HotpathMetrics({
      cacheStats: () => [{ tier: 'l1', namespace: 'users', hits, misses: 2, stale: 1 }],
    })
    diagnostics.channel('hotpath:cache:hit').publish({ tier: 'l1', namespace: 'users' })
    samples = parsePrometheusText(await metrics.metrics())
    expect(sampleValue(samples, 'hotpath_cache_requests_total', { namespace: 'users', result: 'hit' })).toBe(
      5,
    )
    hits = 9
    samples = parsePrometheusText(await metrics.metrics())
    expect(sampleValue(samples, 'hotpath_cache_requests_total', { namespace: 'users', result: 'hit' })).toBe(
      9,
    )
    expect(
      sampleValue(samples, 'hotpath_cache_requests_total', { namespace: 'users', result: 'stale' }),
    ).toBe(1)
  })

  it('reads per-namespace, per-tier counters from caches through cacheStatsSource', async () => {
    const tiers = (hits: number) => ({ hits, misses: 1, stale: 0 })
    const root = { name: '', stats: () => ({ l1: tiers(3), l2: tiers(1) }) }
    const users = { name: 'users', stats: () => ({ l1: tiers(8), l2: tiers(2) }) }
    metrics = new HotpathMetrics({ cacheStats: cacheStatsSource(root, users) })
    const samples = parsePrometheusText(await metrics.metrics())
    const hits = (tier: string, namespace: string) =>
      sampleValue(samples, 'hotpath_cache_requests_total', { tier, namespace, result: 'hit' })
    expect([hits('l1', 'root'), hits('l2', 'root'), hits('l1', 'users'), hits('l2', 'users')]).toEqual([
      3, 1, 8, 2,
    ])
  })

  it('follows a real cache: events by default, stats() through cacheStatsSource', async () => {
    const cache = createCache()
    try {
      const users = cache.namespace('users')
      metrics = new HotpathMetrics()
      const fromStats = new HotpathMetrics({ cacheStats: cacheStatsSource(cache), cacheEvents: false })
      try {
        await users.getOrSet('1', async () => 'a')
        await users.get('1')
        await users.get('1')
        const events = parsePrometheusText(await metrics.metrics())
        expect(sampleValue(events, 'hotpath_cache_requests_total', { tier: 'l1', result: 'hit' })).toBe(2)
        expect(sampleValue(events, 'hotpath_cache_requests_total', { tier: 'l1', result: 'miss' })).toBe(1)
        // Loads are labelled with the namespace that loaded (was always 'default').
        expect(
          sampleValue(events, 'hotpath_cache_loader_duration_seconds_count', { namespace: 'users' }),
        ).toBe(1)
        const stats = parsePrometheusText(await fromStats.metrics())
        expect(
          sampleValue(stats, 'hotpath_cache_requests_total', {
            namespace: 'root',
            tier: 'l1',
            result: 'hit',
          }),
        ).toBe(2)
      } finally {
        fromStats.close()
      }
    } finally {
      await cache.close()
    }
  })

  it('rejects a bad prefix naming the option', () => {
    expect(() => new HotpathMetrics({ prefix: 'bad-prefix' })).toThrow(/"prefix"/u)
  })
})
