import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createLoggedApp } from './test-app.js'
import { statsPlugin } from '../../../service/src/stats/stats-plugin.js'
import { profilingPlugin } from '../../../src/fastify/profiling.js'
import { computePriceStats } from '../../../service/src/stats/price-stats.js'

const PRICES = Array.from({ length: 20_000 }, (_, i) => ((i * 7919) % 100_000) + 100)
let app: FastifyInstance

beforeAll(async () => {
  app = Fastify()
  await app.register(statsPlugin, { loadPrices: async () => PRICES, maxThreads: 1 })
  await app.ready()
})
afterAll(async () => {
  await app.close()
})

/** Largest lateness of a 5 ms timer while `work` runs: how long the event loop was held. */
async function maxTimerLag(work: () => Promise<unknown>): Promise<number> {
  let max = 0
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    max = Math.max(max, now - last - 5)
    last = now
  }, 5)
  try {
    await work()
    await new Promise((resolve) => setTimeout(resolve, 20))
  } finally {
    clearInterval(timer)
  }
  return max
}

describe('GET /stats/prices', () => {
  it('computes the same statistics inline and in the worker pool', async () => {
    const inline = await app.inject({ url: '/stats/prices?mode=inline&rounds=20' })
    const pooled = await app.inject({ url: '/stats/prices?mode=pooled&rounds=20' })
    expect(inline.statusCode).toBe(200)
    expect(pooled.statusCode).toBe(200)
    const { mode: inlineMode, ...inlineStats } = inline.json() as Record<string, unknown>
    const { mode: pooledMode, ...pooledStats } = pooled.json() as Record<string, unknown>
    expect([inlineMode, pooledMode]).toEqual(['inline', 'pooled'])
    expect(pooledStats).toEqual(inlineStats)
    expect(inlineStats).toMatchObject({ count: 20_000, min: 100, bootstrapRounds: 20 })
    const expected = computePriceStats(Float64Array.from(PRICES), { bootstrapRounds: 20 })
    expect(inlineStats.percentiles).toEqual(expected.percentiles)
    expect(expected.medianCi95[0]).toBeLessThanOrEqual(expected.percentiles.p50)
    expect(expected.medianCi95[1]).toBeGreaterThanOrEqual(expected.percentiles.p50)
  })

  it('rejects a bad mode or too many rounds with 400', async () => {
    expect((await app.inject({ url: '/stats/prices?mode=turbo' })).statusCode).toBe(400)
    expect((await app.inject({ url: '/stats/prices?rounds=999999' })).statusCode).toBe(400)
  })

  it('pooled keeps event-loop delay low while inline raises it', async () => {
    const rounds = 400
    // Warm the worker (thread start, module load) so only the computation is compared.
    await app.inject({ url: `/stats/prices?mode=pooled&rounds=${rounds}` })
    const inlineLag = await maxTimerLag(() =>
      app.inject({ url: `/stats/prices?mode=inline&rounds=${rounds}` }),
    )
    const pooledLag = await maxTimerLag(() =>
      app.inject({ url: `/stats/prices?mode=pooled&rounds=${rounds}` }),
    )
    expect(pooledLag).toBeLessThan(inlineLag / 2)
  })
})

describe('blocking detector', () => {
  it('logs the inline computation as an event-loop stall naming its route', async () => {
    const { app: logged, logs } = createLoggedApp()
    await logged.register(profilingPlugin, { blocking: { threshold: '100ms', interval: '10ms' } })
    await logged.register(statsPlugin, { loadPrices: async () => PRICES, maxThreads: 1 })
    await logged.ready()
    try {
      await logged.inject({ url: '/stats/prices?mode=inline&rounds=400' })
      await new Promise((resolve) => setTimeout(resolve, 50))
      const stalls = logs.filter((line) => line.msg === 'event loop blocked')
      const ours = stalls.find((line) => (line.routes as string[]).includes('GET /stats/prices'))
      expect(ours).toBeDefined()
      expect(ours!.level).toBe(40)
      expect(ours!.delayMs).toBeGreaterThan(100)
    } finally {
      await logged.close()
    }
  })
})

describe('the statistics worker pool', () => {
  it('starts no thread until a pooled request, and lets it go after idleTimeout', async () => {
    const lazy = Fastify()
    try {
      await lazy.register(statsPlugin, { loadPrices: async () => PRICES, maxThreads: 1, idleTimeout: 100 })
      await lazy.ready()
      // An idle thread would hold its own heap for nothing (see DEFAULT_POOL_IDLE_TIMEOUT_MS).
      expect(lazy.statsPool.threads).toBe(0)
      expect((await lazy.inject({ url: '/stats/prices?mode=inline&rounds=5' })).statusCode).toBe(200)
      expect(lazy.statsPool.threads).toBe(0)
      const pooled = await lazy.inject({ url: '/stats/prices?mode=pooled&rounds=5' })
      expect(pooled.statusCode).toBe(200)
      expect(pooled.json()).toMatchObject({ mode: 'pooled', count: PRICES.length })
      expect(lazy.statsPool.threads).toBe(1)
      const deadline = Date.now() + 10_000
      while (lazy.statsPool.threads > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(lazy.statsPool.threads).toBe(0)
      // A later pooled request starts a worker again.
      expect((await lazy.inject({ url: '/stats/prices?mode=pooled&rounds=5' })).statusCode).toBe(200)
    } finally {
      await lazy.close()
    }
  })
})
