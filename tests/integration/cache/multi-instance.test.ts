import { createClient } from 'redis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createCache, DEFAULT_L1_TRUST_TIMEOUT, type Cache } from '../../../src/cache/index.js'
import { redisStore } from '../../../src/cache/stores/redis/index.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import { latch, redisCache, sleep, uniquePrefix, untilTrusted } from './helpers.js'

describe.runIf(hasRedis)('several instances sharing Redis', () => {
  const prefix = uniquePrefix('multi')
  let open: Cache[] = []
  const instance = (options: Parameters<typeof redisCache>[1] = {}) => {
    const cache = redisCache(prefix, options)
    open.push(cache)
    return cache
  }

  afterEach(async () => {
    await Promise.all(open.map((cache) => cache.close()))
    open = []
  })

  afterAll(async () => {
    const store = redisStore({ url: REDIS_URL }).factory()
    await store.connect()
    await store.clearPrefix(prefix)
    store.close()
  })

  it('stampede: 200 concurrent getOrSet on one cold key across 3 instances run the loader once', async () => {
    const caches = [instance(), instance(), instance()]
    await untilTrusted(...caches)
    let calls = 0
    const loader = async () => {
      calls++
      await sleep(50)
      return { id: 7 }
    }
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (caches[i % 3] as Cache).getOrSet('cold', loader)),
    )
    expect(calls).toBe(1)
    expect(results.every((r) => r.id === 7)).toBe(true)
  })

  it('stampede with an instant loader still runs it once', async () => {
    const caches = [instance(), instance(), instance()]
    await untilTrusted(...caches)
    let calls = 0
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (caches[i % 3] as Cache).getOrSet('cold-fast', () => {
          calls++
          return 'v'
        }),
      ),
    )
    expect(calls).toBe(1)
    expect(new Set(results)).toEqual(new Set(['v']))
  })

  it('stampede on a tagged key in a namespace still runs the loader once', async () => {
    const caches = [instance(), instance(), instance()]
    await untilTrusted(...caches)
    let calls = 0
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (caches[i % 3] as Cache).namespace('posts').getOrSet(
          'user:9',
          async () => {
            calls++
            await sleep(20)
            return ['p1', 'p2']
          },
          { tags: ['user:9'] },
        ),
      ),
    )
    expect(calls).toBe(1)
    expect(results.every((r) => r.length === 2)).toBe(true)
  })

  it('coherence: set/delete/namespace/tag on A are seen by B within the staleness bound', async () => {
    const a = instance()
    const b = instance()
    await untilTrusted(a, b)
    const bound = DEFAULT_L1_TRUST_TIMEOUT
    const users = (c: Cache) => c.namespace('users')

    await a.set('k', 'v1')
    await users(a).set('1', 'u1')
    await a.set('tagged', 'p1', { tags: ['user:1'] })
    // B reads everything into its L1.
    expect(await b.get('k')).toBe('v1')
    expect(await users(b).get('1')).toBe('u1')
    expect(await b.get('tagged')).toBe('p1')
    expect((await b.getEntry('k'))?.source).toBe('hit-l1')

    await a.set('k', 'v2')
    await a.invalidateNamespace('users')
    await a.invalidateTags(['user:1'])
    await sleep(bound)
    expect(await b.get('k')).toBe('v2')
    expect(await users(b).get('1')).toBeUndefined()
    expect(await b.get('tagged')).toBeUndefined()

    expect(await b.get('k')).toBe('v2')
    await a.delete('k')
    await sleep(bound)
    expect(await b.get('k')).toBeUndefined()
  })

  it('coherence is normally much faster than the bound (messages, not expiry)', async () => {
    const a = instance()
    const b = instance()
    await untilTrusted(a, b)
    await a.set('fast', 1)
    expect(await b.get('fast')).toBe(1)
    await a.set('fast', 2)
    let seen: unknown
    for (let i = 0; i < 100 && seen !== 2; i++) {
      seen = await b.get('fast')
      if (seen !== 2) await sleep(5)
    }
    expect(seen).toBe(2)
  })

  it('race: a loader held on a latch while another instance writes and invalidates never wins', async () => {
    const a = instance()
    const b = instance()
    await untilTrusted(a, b)
    const gate = latch()
    const started = latch()
    const slow = a.getOrSet('item', async () => {
      started.open()
      await gate.wait
      return 'old'
    })
    await started.wait
    await b.set('item', 'new')
    await b.invalidateTags(['item'])
    gate.open()
    expect(await slow).toBe('old') // the caller that asked before the write gets its answer...
    await sleep(50)
    // ...but no instance serves it afterwards.
    expect(await a.get('item')).toBe('new')
    expect(await b.get('item')).toBe('new')
    const c = instance()
    await untilTrusted(c)
    expect(await c.get('item')).toBe('new')
  })

  it('race: a delete on another instance revokes the slow fill', async () => {
    const a = instance()
    const b = instance()
    await untilTrusted(a, b)
    const gate = latch()
    const started = latch()
    const slow = a.getOrSet('gone', async () => {
      started.open()
      await gate.wait
      return 'old'
    })
    await started.wait
    await b.delete('gone')
    gate.open()
    await slow
    await sleep(50)
    expect(await a.get('gone')).toBeUndefined()
    expect(await b.get('gone')).toBeUndefined()
    expect(await b.getOrSet('gone', () => 'reloaded')).toBe('reloaded')
  })

  it('L2 hit after L1 miss; getMany uses the shared tier; negative caching across instances', async () => {
    const a = instance()
    const b = instance({ l1: false })
    await untilTrusted(a, b)
    await a.setMany<unknown>([
      { key: 'm1', value: 1 },
      { key: 'm2', value: Buffer.from('two') },
    ])
    expect((await b.getEntry('m1'))?.source).toBe('hit-l2')
    const [m1, m2, m3] = await b.getMany<unknown>(['m1', 'm2', 'm3'])
    expect(m1).toBe(1)
    expect(Buffer.from(m2 as Uint8Array).toString()).toBe('two')
    expect(m3).toBeUndefined()
    let loads = 0
    const notFound = () => {
      loads++
      return undefined
    }
    await a.getOrSet('missing-user', notFound, { negativeTtl: '1m' })
    await b.getOrSet('missing-user', notFound, { negativeTtl: '1m' })
    expect(loads).toBe(1)
  })

  it('a lease held too long: others wait leaseWait, then load themselves (bounded, no hang)', async () => {
    const a = instance()
    const b = instance({ leaseWait: 100 })
    await untilTrusted(a, b)
    const gate = latch()
    const started = latch()
    const slowA = a.getOrSet('held', async () => {
      started.open()
      await gate.wait
      return 'from-a'
    })
    await started.wait
    let bCalls = 0
    expect(
      await b.getOrSet('held', () => {
        bCalls++
        return 'from-b'
      }),
    ).toBe('from-b')
    expect(bCalls).toBe(1)
    gate.open()
    expect(await slowA).toBe('from-a')
  })

  it('accepts an existing node-redis client and leaves it open on close', async () => {
    const client = createClient({ url: REDIS_URL })
    client.on('error', () => {})
    await client.connect()
    try {
      const external = createCache({ prefix, ttlJitter: 0, l2: redisStore({ client }) })
      const other = instance()
      await untilTrusted(external, other)
      await external.set('ext', { ok: true })
      expect(await other.get('ext')).toEqual({ ok: true })
      await other.set('ext', { ok: false })
      await sleep(50)
      expect(await external.get('ext')).toEqual({ ok: false })
      await external.close()
      expect(await client.ping()).toBe('PONG')
    } finally {
      client.destroy()
    }
  })

  it('a corrupt or foreign value in Redis is a miss, not an error', async () => {
    const a = instance()
    await untilTrusted(a)
    await a.set('corrupt', 'good')
    // Overwrite the stored bytes behind the cache's back (key layout of a fresh root namespace).
    const client = createClient({ url: REDIS_URL })
    await client.connect()
    try {
      await client.set(`${prefix}:v1:r0:k:{corrupt}`, 'not an entry')
    } finally {
      client.destroy()
    }
    const b = instance()
    const errors: string[] = []
    b.on('error', (e) => errors.push(e.operation))
    await untilTrusted(b)
    expect(await b.getOrSet('corrupt', () => 'reloaded')).toBe('reloaded')
    expect(errors).toContain('decode')
  })

  it('stale-while-revalidate through Redis: stale on B while A refreshed it', async () => {
    const a = instance({ ttl: 30, grace: '1m' })
    await untilTrusted(a)
    await a.set('swr', 'old')
    await sleep(60)
    let calls = 0
    const served = await a.getOrSetEntry('swr', () => {
      calls++
      return 'new'
    })
    expect(served).toMatchObject({ source: 'stale', entry: { value: 'old' } })
    await sleep(50)
    expect(calls).toBe(1)
    const b = instance()
    await untilTrusted(b)
    expect((await b.getEntry('swr'))?.entry.value).toBe('new')
  })
})
