/**
 * Memory stays bounded under hostile key cardinality: values over `maxEntryBytes` are not kept in
 * L1, a million distinct keys keep L1 within its byte budget, and a flood of distinct search
 * queries and undeclared query parameters against the service (HTTP_CACHE=on) keeps both the data
 * cache and the response cache within CACHE_L1_MAX_BYTES.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/create-cache.js'
import { memoryStore } from '../../../src/cache/stores/memory/memory-store.js'
import { redisStore } from '../../../src/cache/stores/redis/index.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import {
  dropPrefix,
  redisClient,
  seededDatabase,
  serviceApp,
  uniquePrefix,
  until,
  type SeededDatabase,
} from './support.js'

describe('L1 memory bounds (cache API)', () => {
  it('keeps a million distinct keys within maxBytes', async () => {
    const maxBytes = 1024 * 1024
    const cache = createCache({ l1: memoryStore({ maxBytes }), prefix: uniquePrefix('million'), ttl: 60_000 })
    try {
      let peak = 0
      for (let i = 0; i < 1_000_000; i++) {
        await cache.set(`user:${i}:profile`, { id: i, name: `user ${i}` })
        if (i % 50_000 === 0) peak = Math.max(peak, cache.stats().l1Size.bytes)
      }
      const { l1Size } = cache.stats()
      expect(Math.max(peak, l1Size.bytes)).toBeLessThanOrEqual(maxBytes)
      // It is full, not empty: the newest keys are there, the oldest were evicted.
      expect(l1Size.bytes).toBeGreaterThan(maxBytes / 2)
      expect(l1Size.items).toBeLessThan(20_000)
      expect(await cache.get('user:999999:profile')).toEqual({ id: 999_999, name: 'user 999999' })
      expect(await cache.get('user:0:profile')).toBeUndefined()
    } finally {
      await cache.close()
    }
  })

  describe.runIf(hasRedis)('with Redis as L2', () => {
    const prefix = uniquePrefix('big')
    afterAll(async () => {
      const client = await redisClient(REDIS_URL)
      await dropPrefix(client, prefix)
      await client.close()
    })

    it('does not keep a value over maxEntryBytes in L1, and still serves it from L2', async () => {
      const cache = createCache({
        l1: memoryStore({ maxBytes: 1024 * 1024, maxEntryBytes: 16 * 1024 }),
        l2: redisStore({ url: REDIS_URL }),
        prefix,
        ttl: 60_000,
      })
      try {
        // L1 takes writes once the coherence channel is up.
        await until(() => cache.stats().l1Trusted, 'the coherence channel')
        const big = 'x'.repeat(100_000)
        await cache.set('big', big)
        await cache.set('small', 'y')
        expect(cache.stats().l1Size.items).toBe(1)
        expect(cache.stats().l1Size.bytes).toBeLessThan(16 * 1024)
        const read = await cache.getEntry<string>('big')
        expect(read?.entry.value).toBe(big)
        expect(read?.source).toBe('hit-l2')
        // Reading it back does not promote it into L1 either.
        expect(cache.stats().l1Size.items).toBe(1)
      } finally {
        await cache.close()
      }
    })
  })
})

describe('query-string cardinality flood against the service (HTTP_CACHE=on)', () => {
  const L1_BYTES = 128 * 1024
  let db: SeededDatabase
  let app: ServiceApp

  beforeAll(async () => {
    db = await seededDatabase()
    app = await serviceApp(db, { CACHE: 'on', HTTP_CACHE: 'on', CACHE_L1_MAX_BYTES: String(L1_BYTES) })
  })

  afterAll(async () => {
    await app?.close()
    await db?.close()
  })

  const l1 = () => app.service.cache!.cache.stats().l1Size

  it('keeps the data and response caches within CACHE_L1_MAX_BYTES under 1,500 distinct queries', async () => {
    let peak = 0
    for (let i = 0; i < 1_500; i++) {
      const response = await app.inject({
        method: 'GET',
        url: `/search/items?q=flood${i}&limit=${1 + (i % 50)}`,
      })
      expect(response.statusCode).toBe(200)
      peak = Math.max(peak, l1().bytes)
    }
    expect(peak).toBeLessThanOrEqual(L1_BYTES)
    // The flood filled the budget (so the bound was exercised), and older entries were evicted.
    expect(peak).toBeGreaterThan(L1_BYTES / 2)
    expect(l1().items).toBeLessThan(1_500)
  })

  it('stores nothing for undeclared parameters (cache busters are a 400, not a new entry)', async () => {
    await app.inject({ method: 'GET', url: '/items/1' })
    const before = l1()
    for (let i = 0; i < 500; i++) {
      const response = await app.inject({ method: 'GET', url: `/items/1?cb=${i}` })
      expect(response.statusCode).toBe(400)
      expect(response.json().error.code).toBe('E_HTTP_UNKNOWN_QUERY_PARAM')
    }
    expect(l1()).toEqual(before)
  })

  it('rejects CACHE_L1_MAX_BYTES that is not a size', async () => {
    const { loadConfig } = await import('../../../service/src/config.js')
    expect(loadConfig({ CACHE_L1_MAX_BYTES: '32mib' }).cache.l1MaxBytes).toBe(32 * 1024 * 1024)
    expect(() => loadConfig({ CACHE_L1_MAX_BYTES: 'lots' })).toThrow(/CACHE_L1_MAX_BYTES/)
  })
})
