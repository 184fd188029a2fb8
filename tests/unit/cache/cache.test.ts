import { afterEach, describe, expect, it } from 'vitest'
import { createCache, memoryStore, type Cache } from '../../../src/cache/index.js'
import { CacheLoaderTimeoutError, InvalidOptionError } from '../../../src/errors.js'

function latch<T = void>(): { wait: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void
  const wait = new Promise<T>((resolve) => {
    open = resolve
  })
  return { wait, open }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let caches: Cache[] = []
function make(options: Parameters<typeof createCache>[0] = {}): Cache {
  const cache = createCache({ ttlJitter: 0, ...options })
  caches.push(cache)
  return cache
}

afterEach(async () => {
  await Promise.all(caches.map((cache) => cache.close()))
  caches = []
})

describe('cache-aside basics (L1 only)', () => {
  it('get/set/has/delete/getMany/setMany/deleteMany', async () => {
    const cache = make()
    expect(await cache.get('a')).toBeUndefined()
    await cache.set('a', { n: 1 })
    expect(await cache.get('a')).toEqual({ n: 1 })
    expect(await cache.has('a')).toBe(true)
    await cache.setMany([
      { key: 'b', value: 2 },
      { key: 'c', value: 3 },
    ])
    expect(await cache.getMany(['a', 'b', 'x', 'c'])).toEqual([{ n: 1 }, 2, undefined, 3])
    await cache.delete('a')
    await cache.deleteMany(['b', 'c'])
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, undefined, undefined])
    expect(await cache.has('a')).toBe(false)
  })

  it('entries carry version, times, tags and an etag computed at write time', async () => {
    const cache = make({ ttl: '10s', grace: '1m' })
    const before = Date.now()
    const entry = await cache.set('e', { x: 1 }, { tags: ['t1'] })
    expect(entry.createdAt).toBeGreaterThanOrEqual(before)
    expect(entry.freshUntil - entry.createdAt).toBeCloseTo(10_000, 0)
    expect(entry.staleUntil - entry.freshUntil).toBe(60_000)
    expect(entry.tags).toEqual(['t1'])
    expect(entry.etag).toMatch(/^"[^"]+"$/)
    const again = await cache.set('e2', { x: 1 })
    expect(again.etag).toBe(entry.etag)
    const read = await cache.getEntry('e')
    expect(read?.source).toBe('hit-l1')
    expect(read?.entry.etag).toBe(entry.etag)
  })

  it('validates options and names the bad one', () => {
    expect(() => createCache({ ttl: '3 weeks' as never })).toThrow(/"ttl"/)
    expect(() => createCache({ ttlJitter: 2 })).toThrow(InvalidOptionError)
    expect(() => createCache({ l1: false })).toThrow(/l1/)
    expect(() => createCache({ prefix: 'a:b' })).toThrow(/prefix/)
  })
})

describe('getOrSet', () => {
  it('single-flight: concurrent misses share one loader call', async () => {
    const cache = make()
    let calls = 0
    const gate = latch()
    const results = await Promise.all([
      ...Array.from({ length: 100 }, () =>
        cache.getOrSet('k', async () => {
          calls++
          await gate.wait
          return 'v'
        }),
      ),
      (async () => {
        await sleep(5)
        gate.open()
        return 'v'
      })(),
    ])
    expect(calls).toBe(1)
    expect(new Set(results)).toEqual(new Set(['v']))
    expect(await cache.getOrSet('k', () => 'other')).toBe('v')
  })

  it('loader errors propagate and are never cached', async () => {
    const cache = make()
    await expect(
      cache.getOrSet('k', () => {
        throw new Error('db down')
      }),
    ).rejects.toThrow('db down')
    expect(await cache.getOrSet('k', () => 'ok')).toBe('ok')
    expect(cache.stats().loadErrors).toBe(1)
  })

  it('negative caching is opt-in', async () => {
    const cache = make()
    let calls = 0
    const notFound = () => {
      calls++
      return undefined
    }
    expect(await cache.getOrSet('nf', notFound)).toBeUndefined()
    expect(await cache.getOrSet('nf', notFound)).toBeUndefined()
    expect(calls).toBe(2)
    expect(await cache.getOrSet('nf2', notFound, { negativeTtl: '1m' })).toBeUndefined()
    expect(await cache.getOrSet('nf2', notFound, { negativeTtl: '1m' })).toBeUndefined()
    expect(calls).toBe(3)
  })

  it('the loader can override ttl/tags/version from its context and sees the stale entry', async () => {
    const cache = make({ ttl: 20, grace: '1m' })
    await cache.getOrSet('k', () => 1)
    await sleep(40)
    let seenStale: unknown
    const result = await cache.getOrSetEntry('k', (ctx) => {
      seenStale = ctx.stale?.value
      ctx.setTags(['from-loader'])
      ctx.setTtl('1m')
      return 2
    })
    expect(result.source).toBe('stale')
    await sleep(20)
    const fresh = await cache.getEntry('k')
    expect(seenStale).toBe(1)
    expect(fresh?.entry.value).toBe(2)
    expect(fresh?.entry.tags).toEqual(['from-loader'])
    await cache.invalidateTags(['from-loader'])
    expect(await cache.get('k')).toBeUndefined()
  })

  it('stale-while-revalidate serves the stale value once and refreshes in the background', async () => {
    const cache = make({ ttl: 20, grace: '1m' })
    await cache.set('k', 'old')
    await sleep(40)
    const gate = latch()
    const served = await cache.getOrSetEntry(
      'k',
      async () => {
        await gate.wait
        return 'new'
      },
      { ttl: '1m' },
    )
    expect(served).toMatchObject({ source: 'stale', entry: { value: 'old' } })
    gate.open()
    await sleep(10)
    expect(await cache.getEntry('k')).toMatchObject({ source: 'hit-l1', entry: { value: 'new' } })
  })

  it('stale-if-error: a failing loader gets the stale value, not the error', async () => {
    const cache = make({ ttl: 20, grace: '1m' })
    await cache.set('k', 'old')
    await sleep(40)
    await cache.expire('k')
    const first = await cache.getOrSetEntry('k', () => {
      throw new Error('boom')
    })
    expect(first.entry.value).toBe('old')
    expect(first.source).toBe('stale')
  })

  it('soft timeout: waits for the loader that long, then returns the stale value; the loader still fills', async () => {
    const cache = make({ ttl: 20, grace: '1m' })
    await cache.set('k', 'old')
    await sleep(40)
    const fast = await cache.getOrSetEntry('k', () => 'fast', { softTimeout: 1_000 })
    expect(fast).toMatchObject({ source: 'miss', entry: { value: 'fast' } })
    await cache.expire('k')
    const gate = latch()
    const result = await cache.getOrSetEntry(
      'k',
      async () => {
        await gate.wait
        return 'new'
      },
      { softTimeout: 20, ttl: '1m' },
    )
    expect(result).toMatchObject({ source: 'stale', entry: { value: 'fast' } })
    gate.open()
    await sleep(10)
    expect(await cache.get('k')).toBe('new')
  })

  it('hard timeout rejects, aborts the loader signal and caches nothing', async () => {
    const cache = make()
    let signal: AbortSignal | undefined
    const never = latch<string>()
    await expect(
      cache.getOrSet(
        'k',
        (ctx) => {
          signal = ctx.signal
          return never.wait
        },
        { hardTimeout: 30 },
      ),
    ).rejects.toThrow(CacheLoaderTimeoutError)
    expect(signal?.aborted).toBe(true)
    never.open('late')
    await sleep(5)
    expect(await cache.get('k')).toBeUndefined()
    expect(cache.stats().loadTimeouts).toBe(1)
  })

  it('race: a slow loader released after a write + invalidation never becomes the cached value', async () => {
    const cache = make()
    const gate = latch()
    const slow = cache.getOrSet('item', async () => {
      await gate.wait
      return 'old'
    })
    await sleep(5)
    await cache.set('item', 'new')
    await cache.invalidateTags(['item-tag'])
    gate.open()
    await slow
    expect(await cache.get('item')).toBe('new')
    await cache.delete('item')
    const gate2 = latch()
    const slow2 = cache.getOrSet('item', async () => {
      await gate2.wait
      return 'old'
    })
    await sleep(5)
    await cache.delete('item')
    gate2.open()
    await slow2
    expect(await cache.get('item')).toBeUndefined()
  })
})

describe('invalidation', () => {
  it('namespaces: O(1) bulk invalidation of one namespace, its children, not its siblings', async () => {
    const cache = make()
    const users = cache.namespace('users')
    const admins = users.namespace('admins')
    const posts = cache.namespace('posts')
    await users.set('1', 'u1')
    await admins.set('1', 'a1')
    await posts.set('1', 'p1')
    await cache.set('1', 'root')
    expect(await users.get('1')).toBe('u1')
    expect(await admins.get('1')).toBe('a1')
    await cache.invalidateNamespace('users')
    expect(await users.get('1')).toBeUndefined()
    expect(await admins.get('1')).toBeUndefined()
    expect(await posts.get('1')).toBe('p1')
    expect(await cache.get('1')).toBe('root')
    await users.set('1', 'u1b')
    expect(await users.get('1')).toBe('u1b')
    await cache.clear()
    expect(await posts.get('1')).toBeUndefined()
    expect(await cache.get('1')).toBeUndefined()
    expect(users.name).toBe('users')
    expect(admins.name).toBe('users:admins')
  })

  it('same key in different namespaces never collides', async () => {
    const cache = make()
    await cache.namespace('a').set('x', 'A')
    await cache.namespace('b').set('x', 'B')
    await cache.set('x', 'root')
    expect(await cache.namespace('a').get('x')).toBe('A')
    expect(await cache.namespace('b').get('x')).toBe('B')
    expect(await cache.get('x')).toBe('root')
  })

  it('lazy tags: entries written before the invalidation are gone, later ones are kept', async () => {
    const cache = make()
    await cache.set('p1', 'a', { tags: ['user:1'] })
    await cache.set('p2', 'b', { tags: ['user:2'] })
    await cache.namespace('x').set('p3', 'c', { tags: ['user:1', 'other'] })
    await cache.invalidateTags(['user:1'])
    expect(await cache.get('p1')).toBeUndefined()
    expect(await cache.namespace('x').get('p3')).toBeUndefined()
    expect(await cache.get('p2')).toBe('b')
    await cache.set('p1', 'a2', { tags: ['user:1'] })
    expect(await cache.get('p1')).toBe('a2')
  })

  it('expire marks an entry stale but keeps it for its grace period', async () => {
    const cache = make({ grace: '1m' })
    await cache.set('k', 'v')
    await cache.expire('k')
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getEntry('k')).toMatchObject({ source: 'stale', entry: { value: 'v' } })
  })

  it('ttl expiry without grace removes the entry', async () => {
    const cache = make({ ttl: 20 })
    await cache.set('k', 'v')
    await sleep(40)
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getEntry('k')).toBeUndefined()
  })

  it('ttl jitter shortens fresh lifetimes by at most the jitter fraction', async () => {
    const cache = make({ ttl: 10_000, ttlJitter: 0.2 })
    const lifetimes = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const entry = await cache.set(`j${i}`, i)
        return entry.freshUntil - entry.createdAt
      }),
    )
    expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(8_000)
    expect(Math.max(...lifetimes)).toBeLessThanOrEqual(10_000)
    expect(new Set(lifetimes).size).toBeGreaterThan(1)
  })
})

describe('observability', () => {
  it('counts hits and misses per tier and reports them as events', async () => {
    const cache = make()
    const events: string[] = []
    cache.on('hit', (e) => events.push(`hit:${e.tier}:${e.key}`))
    cache.on('miss', (e) => events.push(`miss:${e.tier}:${e.key}`))
    cache.on('load', (e) => events.push(`load:${e.key}:${e.ok}`))
    await cache.getOrSet('k', () => 1)
    await cache.get('k')
    await cache.get('k')
    const stats = cache.stats()
    expect(stats.l1.hits).toBe(2)
    expect(stats.l1.misses).toBe(1)
    expect(stats.loads).toBe(1)
    expect(stats.hitRatio).toBeCloseTo(2 / 3)
    expect(events).toEqual(['miss:l1:k', 'load:k:true', 'hit:l1:k', 'hit:l1:k'])
  })

  it('values above maxEntryBytes are not kept in L1', async () => {
    const cache = make({ l1: memoryStore({ maxEntryBytes: 10_000 }) })
    await cache.set('big', Buffer.alloc(50_000))
    await cache.set('small', Buffer.alloc(100))
    expect(await cache.get('big')).toBeUndefined()
    expect((await cache.get<Buffer>('small'))?.byteLength).toBe(100)
  })
})
