import diagnostics from 'node:diagnostics_channel'

import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createLoggedApp, createTestDb, registerPostRoutes, type LogLine, type TestDb } from './test-app.js'
import { parsePrometheusText, sampleValue } from '../../unit/profiling/helpers/prometheus-text.js'
import { createCache } from '../../../src/cache/index.js'
import type { Cache } from '../../../src/cache/types.js'
import { metricsPlugin } from '../../../src/fastify/metrics.js'
import { profilingPlugin } from '../../../src/fastify/profiling.js'
import { serverTiming, serverTimingPlugin } from '../../../src/fastify/server-timing.js'
import { publishDbQuery } from '../../../src/profiling/db-query-event.js'
import { CACHE_HIT_CHANNEL } from '../../../src/profiling/defaults.js'
import { currentRequestContext } from '../../../src/profiling/request-context.js'
import { parseServerTiming } from '../../../src/profiling/server-timing.js'

let testDb: TestDb
let app: FastifyInstance
let logs: LogLine[]
let cache: Cache
const METRICS_TOKEN = 'scrape-token'

beforeAll(async () => {
  testDb = await createTestDb()
  ;({ app, logs } = createLoggedApp())
  await app.register(serverTimingPlugin)
  await app.register(metricsPlugin, { token: METRICS_TOKEN })
  await app.register(profilingPlugin, {
    slowQuery: { threshold: '100ms' },
    nPlusOne: { threshold: 10, header: true },
    blocking: false,
  })
  registerPostRoutes(app, testDb)
  app.get('/cached', async (request) => {
    serverTiming(request).add('cache', 0.25, 'hit-l1')
    return { id: 1 }
  })
  app.get<{ Querystring: { ms: string } }>('/reported-query', async (request) => {
    // The channel message carries the duration; publishing it directly makes the threshold exact.
    publishDbQuery({
      sql: "select * from items where secret = 'hunter2' and id = 42",
      durationMs: Number(request.query.ms),
      dialect: 'postgres',
    })
    return 'ok'
  })
  cache = createCache()
  app.get<{ Params: { id: string } }>('/real-cache/:id', async (request) =>
    cache.getOrSet(`item:${request.params.id}`, async () => ({ id: request.params.id })),
  )
  app.get('/fails', async () => {
    throw new Error('boom')
  })
  await app.ready()
})
afterAll(async () => {
  await cache.close()
  await app.close()
  await testDb.close()
})

const warnings = (msg: string) => logs.filter((line) => line.level === 40 && line.msg === msg)

describe('Server-Timing', () => {
  it('carries layer timings, db query count and duration, serialize and total', async () => {
    const cached = await app.inject({ url: '/cached' })
    const entries = parseServerTiming(cached.headers['server-timing'] as string)
    expect(entries.map((entry) => entry.name)).toEqual(['cache', 'serialize', 'total'])
    expect(entries[0]).toEqual({ name: 'cache', durationMs: 0.25, description: 'hit-l1' })
    for (const entry of entries) expect(entry.durationMs).toBeGreaterThanOrEqual(0)

    const batched = await app.inject({ url: '/posts/batched?users=5' })
    expect(batched.json()).toEqual({ count: 5 })
    const db = parseServerTiming(batched.headers['server-timing'] as string).find(
      (entry) => entry.name === 'db',
    )
    expect(db?.description).toBe('2 queries')
    expect(db?.durationMs).toBeGreaterThan(0)
  })

  it("names the cache tier from the real cache core's events", async () => {
    const cacheEntry = async () => {
      const response = await app.inject({ url: '/real-cache/7' })
      expect(response.json()).toEqual({ id: '7' })
      return parseServerTiming(response.headers['server-timing'] as string).find(
        (entry) => entry.name === 'cache',
      )
    }
    expect((await cacheEntry())?.description).toBe('miss-l1')
    expect((await cacheEntry())?.description).toBe('hit-l1')
    // A layer's own cache timing wins over the event-derived one.
    const explicit = await app.inject({ url: '/cached' })
    const entries = parseServerTiming(explicit.headers['server-timing'] as string)
    expect(entries.filter((entry) => entry.name === 'cache')).toEqual([
      { name: 'cache', durationMs: 0.25, description: 'hit-l1' },
    ])
  })

  it('is on every response, including 404s, errors and string payloads', async () => {
    for (const url of ['/nowhere', '/fails', '/reported-query?ms=1']) {
      const response = await app.inject({ url })
      const header = response.headers['server-timing']
      expect(header, url).toMatch(/(^|, )total;dur=\d+(\.\d+)?$/u)
    }
  })

  it('does not mix up the queries of concurrent requests', async () => {
    const [naive, batched] = await Promise.all([
      app.inject({ url: '/posts/naive?users=4' }),
      app.inject({ url: '/posts/batched?users=4' }),
    ])
    const count = (header: unknown) =>
      parseServerTiming(header as string).find((entry) => entry.name === 'db')?.description
    expect(count(naive.headers['server-timing'])).toBe('5 queries')
    expect(count(batched.headers['server-timing'])).toBe('2 queries')
  })
})

describe('N+1 detector', () => {
  it('warns with route and shape when one shape runs more than the threshold, and not at or below it', async () => {
    logs.length = 0
    const atThreshold = await app.inject({ url: '/posts/naive?users=10' })
    expect(atThreshold.headers['x-hotpath-n-plus-one']).toBeUndefined()
    expect(warnings('N+1 query pattern')).toHaveLength(0)

    const batched = await app.inject({ url: '/posts/batched?users=30' })
    expect(batched.headers['x-hotpath-n-plus-one']).toBeUndefined()
    expect(warnings('N+1 query pattern')).toHaveLength(0)

    const naive = await app.inject({ url: '/posts/naive?users=11' })
    const shape = 'select "title" from "posts" where "user_id" = ?'
    expect(naive.headers['x-hotpath-n-plus-one']).toBe(`11x ${shape}`)
    const [warning] = warnings('N+1 query pattern')
    expect(warning).toMatchObject({ route: 'GET /posts/naive', shape, count: 11 })
  })
})

describe('slow-query log', () => {
  it('logs queries at or above the threshold with redacted SQL, duration and route; never below', async () => {
    logs.length = 0
    await app.inject({ url: '/reported-query?ms=99.9' })
    expect(warnings('slow query')).toHaveLength(0)
    await app.inject({ url: '/reported-query?ms=100' })
    await app.inject({ url: '/reported-query?ms=250' })
    const slow = warnings('slow query')
    expect(slow.map((line) => line.durationMs)).toEqual([100, 250])
    expect(slow[0]).toMatchObject({
      sql: 'select * from items where secret = ? and id = ?',
      route: 'GET /reported-query',
      dialect: 'postgres',
    })
    expect(JSON.stringify(logs)).not.toContain('hunter2')
    // Logged through the request's logger, so the line carries the request id.
    expect(slow[0]!.reqId).toBeDefined()
  })
})

describe('/metrics', () => {
  const scrape = async () => {
    const response = await app.inject({
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/u)
    return parsePrometheusText(response.body)
  }

  it('requires the token', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${METRICS_TOKEN}` },
    ]) {
      const response = await app.inject({ url: '/metrics', headers })
      expect(response.statusCode).toBe(401)
      expect((response.json() as { error: { code: string } }).error.code).toBe('E_METRICS_UNAUTHORIZED')
    }
  })

  it('parses as Prometheus text and its counters move with traffic', async () => {
    const before = await scrape()
    const route = { method: 'GET', route: '/posts/batched', status_code: '200' }
    const httpBefore = sampleValue(before, 'hotpath_http_request_duration_seconds_count', route)
    const queriesBefore = sampleValue(before, 'hotpath_db_queries_total', {
      dialect: 'sqlite',
      operation: 'select',
    })
    for (let i = 0; i < 3; i++) await app.inject({ url: '/posts/batched?users=3' })
    await app.inject({ url: '/nowhere/42' })
    const after = await scrape()
    expect(sampleValue(after, 'hotpath_http_request_duration_seconds_count', route)).toBe(httpBefore + 3)
    expect(sampleValue(after, 'hotpath_db_queries_total', { dialect: 'sqlite', operation: 'select' })).toBe(
      queriesBefore + 6,
    )
    // Unmatched URLs share one label value instead of one series per path.
    expect(
      sampleValue(after, 'hotpath_http_request_duration_seconds_count', {
        route: '(unmatched)',
        status_code: '404',
      }),
    ).toBeGreaterThanOrEqual(1)
    expect(after.some((sample) => sample.labels.route === '/nowhere/42')).toBe(false)
  })
})

describe('Server-Timing without async context', () => {
  it('still reports layer timings and total but attributes no channel events when db and cache are off', async () => {
    const { app: lean } = createLoggedApp()
    await lean.register(serverTimingPlugin, { db: false, cache: false })
    lean.get('/lean', async (request) => {
      serverTiming(request).add('cache', 1, 'hit-l1')
      publishDbQuery({ sql: 'select 1', durationMs: 5, dialect: 'sqlite' })
      return { inStore: currentRequestContext() !== undefined }
    })
    try {
      const response = await lean.inject({ url: '/lean' })
      expect(response.json()).toEqual({ inStore: false })
      const names = parseServerTiming(response.headers['server-timing'] as string).map((entry) => entry.name)
      expect(names).toEqual(['cache', 'serialize', 'total'])
    } finally {
      await lean.close()
    }
  })
})

describe('slow-query log without async context', () => {
  it('with routes: false still logs slow queries, without entering AsyncLocalStorage', async () => {
    const { app: lean, logs: leanLogs } = createLoggedApp()
    await lean.register(profilingPlugin, {
      slowQuery: { threshold: '100ms', routes: false },
      nPlusOne: false,
      blocking: false,
    })
    lean.get('/lean-query', async () => {
      publishDbQuery({ sql: 'select * from items where id = 7', durationMs: 150, dialect: 'sqlite' })
      publishDbQuery({ sql: 'select 1', durationMs: 5, dialect: 'sqlite' })
      return { inStore: currentRequestContext() !== undefined }
    })
    try {
      const response = await lean.inject({ url: '/lean-query' })
      expect(response.json()).toEqual({ inStore: false })
      const slow = leanLogs.filter((line) => line.level === 40 && line.msg === 'slow query')
      expect(slow).toHaveLength(1)
      expect(slow[0]).toMatchObject({ sql: 'select * from items where id = ?', durationMs: 150 })
      expect(slow[0]!.route).toBeUndefined()
    } finally {
      await lean.close()
    }
  })
})

describe('Server-Timing with synchronous attribution', () => {
  it('attributes events published before the first await, none after, and never enters AsyncLocalStorage', async () => {
    const { app: lean } = createLoggedApp()
    await lean.register(serverTimingPlugin, { attribution: 'sync' })
    lean.get('/sync', async () => {
      diagnostics.channel(CACHE_HIT_CHANNEL).publish({ tier: 'l1' })
      publishDbQuery({ sql: 'select 1', durationMs: 2, dialect: 'sqlite' })
      await new Promise((resolve) => setImmediate(resolve))
      publishDbQuery({ sql: 'select 2', durationMs: 3, dialect: 'sqlite' })
      return { inStore: currentRequestContext() !== undefined }
    })
    try {
      const [first, second] = await Promise.all([
        lean.inject({ url: '/sync' }),
        lean.inject({ url: '/sync' }),
      ])
      for (const response of [first!, second!]) {
        expect(response.json()).toEqual({ inStore: false })
        const entries = parseServerTiming(response.headers['server-timing'] as string)
        expect(entries.find((entry) => entry.name === 'cache')?.description).toBe('hit-l1')
        expect(entries.find((entry) => entry.name === 'db')).toMatchObject({
          description: '1 query',
          durationMs: 2,
        })
      }
    } finally {
      await lean.close()
    }
  })

  it('rejects an unknown attribution', async () => {
    const { app: lean } = createLoggedApp()
    await expect(
      lean.register(serverTimingPlugin, { attribution: 'maybe' as 'sync' }).ready(),
    ).rejects.toThrow(/attribution/u)
    await lean.close()
  })
})
