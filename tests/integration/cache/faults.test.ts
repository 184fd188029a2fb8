import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, type Cache } from '../../../src/cache/index.js'
import { redisStore } from '../../../src/cache/stores/redis/index.js'
import { CacheStoreError } from '../../../src/errors.js'
import { hasRedis } from '../../helpers/services.js'
import { DedicatedRedis, freePort, sleep, uniquePrefix, untilTrusted } from './helpers.js'

const TIMEOUT = 200
/** Far above every timeout involved: a call still pending after this is hanging. */
const HANG = 5_000

async function settles<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('call hung')), HANG)
  })
  try {
    return { ok: true, value: await Promise.race([promise, hang]) }
  } catch (error) {
    if (error instanceof Error && error.message === 'call hung') throw error
    return { ok: false, error }
  } finally {
    clearTimeout(timer)
  }
}

async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await condition()) return
    await sleep(25)
  }
  throw new Error(`never converged: ${what}`)
}

describe.runIf(hasRedis)('fail-safe against a Redis that dies or freezes', () => {
  const redis = new DedicatedRedis()
  const prefix = uniquePrefix('faults')
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  let a: Cache
  let b: Cache
  const errors: string[] = []

  const make = () =>
    createCache({
      prefix,
      ttlJitter: 0,
      l1TrustTimeout: 400,
      l2: redisStore({
        url: redis.url,
        timeout: TIMEOUT,
        breakerThreshold: 3,
        breakerDuration: 300,
        connectTimeout: 500,
        maxReconnectDelay: 200,
      }),
    })

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled)
    await redis.start()
    a = make()
    b = make()
    a.on('error', (e) => errors.push(e.operation))
    await untilTrusted(a, b)
  })

  afterAll(async () => {
    await a?.close()
    await b?.close()
    redis.signal('SIGCONT')
    await redis.kill()
    process.off('unhandledRejection', onUnhandled)
  })

  it('SIGSTOP: reads fall back to L1 or the loader, nothing hangs, then everything converges', async () => {
    await a.set('warm', 'w1')
    expect(await a.get('warm')).toBe('w1')
    redis.signal('SIGSTOP')
    try {
      await sleep(500) // L1 trust lapses: heartbeats no longer come back
      expect(a.stats().l1Trusted).toBe(false)
      const results = await Promise.all([
        settles(a.get('warm')),
        settles(a.getOrSet('cold', () => 'from-loader')),
        settles(a.getOrSet('warm', () => 'reloaded')),
        settles(b.getOrSet('cold', () => 'from-loader-b')),
        settles(a.getMany(['warm', 'cold'])),
        settles(a.has('warm')),
      ])
      for (const result of results) expect(result.ok).toBe(true)
      expect(results[0]).toEqual({ ok: true, value: 'w1' }) // stale L1 fallback while Redis is unreachable
      expect(results[1]).toEqual({ ok: true, value: 'from-loader' })
      expect(results[2]).toEqual({ ok: true, value: 'reloaded' })
      const write = await settles(a.set('during', 'x'))
      expect(write.ok).toBe(false)
      if (!write.ok) expect(write.error).toBeInstanceOf(CacheStoreError)
      expect(a.stats().l2.errors).toBeGreaterThan(0)
      expect(['open', 'half-open']).toContain(a.stats().l2Circuit)
    } finally {
      redis.signal('SIGCONT')
    }
    await until(() => a.stats().l1Trusted && b.stats().l1Trusted, 'trust after SIGCONT')
    await until(async () => {
      try {
        await a.set('after', 'fresh')
        return true
      } catch {
        return false
      }
    }, 'writes after SIGCONT')
    await until(async () => (await b.get('after')) === 'fresh', 'B sees A after SIGCONT')
    expect(a.stats().l2Circuit).toBe('closed')
  })

  it('kill + restart: calls fail over to the loader, then caches resubscribe and converge', async () => {
    await a.set('k', 'before')
    expect(await b.get('k')).toBe('before')
    await redis.kill()
    const results = await Promise.all([
      settles(a.getOrSet('k2', () => 'loader')),
      settles(b.get('k')),
      settles(b.getOrSetEntry('k', () => 'loader-b')),
    ])
    for (const result of results) expect(result.ok).toBe(true)
    expect(results[0]).toEqual({ ok: true, value: 'loader' })
    await sleep(500)
    expect(b.stats().l1Trusted).toBe(false)
    await redis.start(redis.port)
    await until(() => a.stats().l1Trusted && b.stats().l1Trusted, 'trust after restart')
    // The restarted Redis is empty: B must not serve its pre-crash L1 copy as fresh.
    expect((await b.getEntry('k'))?.source).not.toBe('hit-l1')
    await until(async () => {
      try {
        await a.set('k', 'after-restart')
        return true
      } catch {
        return false
      }
    }, 'writes after restart')
    await until(async () => (await b.get('k')) === 'after-restart', 'B sees A after restart')
    await a.invalidateNamespace('ns')
    await b.namespace('ns').set('x', 1)
    await a.invalidateNamespace('ns')
    await until(async () => (await b.namespace('ns').get('x')) === undefined, 'namespace bump after restart')
  })

  it('a dropped subscriber connection (messages lost) makes L1 untrusted until resynchronised', async () => {
    await until(() => a.stats().l1Trusted && b.stats().l1Trusted, 'trust before the drop')
    await a.set('lost', 'v1')
    expect(await b.get('lost')).toBe('v1')
    await until(async () => (await b.getEntry('lost'))?.source === 'hit-l1', 'B holds v1 in L1')
    const coherence: string[] = []
    b.on('coherence', (e) => coherence.push(e.state))
    const admin = createClient({ url: redis.url })
    await admin.connect()
    try {
      await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])
      // Published while B's subscriber is away: B never receives this message.
      await a.set('lost', 'v2')
    } finally {
      admin.destroy()
    }
    // Within the bound B serves v2 (L2, after resynchronisation), never its stale L1 copy.
    await sleep(400)
    expect(await b.get('lost')).toBe('v2')
    await until(() => b.stats().l1Trusted, 'trust after resubscribing')
    expect(await b.get('lost')).toBe('v2')
    expect(coherence).toContain('lost')
    expect(coherence).toContain('resynced')
  })

  it('Redis unreachable from the start: getOrSet serves the loader, nothing hangs, it connects later', async () => {
    const late = new DedicatedRedis()
    late.port = await freePort()
    const cache = createCache({
      prefix,
      l1TrustTimeout: 400,
      l2: redisStore({
        url: late.url,
        timeout: TIMEOUT,
        breakerThreshold: 2,
        breakerDuration: 200,
        maxReconnectDelay: 100,
      }),
    })
    try {
      for (let i = 0; i < 5; i++) {
        expect(await settles(cache.getOrSet(`boot${i}`, () => i))).toEqual({ ok: true, value: i })
      }
      expect(cache.stats().l2.errors).toBeGreaterThan(0)
      await late.start(late.port)
      await until(() => cache.stats().l1Trusted, 'trust once Redis is up')
      await until(async () => {
        try {
          await cache.set('boot', 'ok')
          return true
        } catch {
          return false
        }
      }, 'writes once Redis is up')
      expect((await cache.getEntry('boot'))?.entry.value).toBe('ok')
    } finally {
      await cache.close()
      await late.kill()
    }
  })

  it('no unhandled rejection happened', async () => {
    await sleep(100)
    expect(unhandled).toEqual([])
    expect(errors.length).toBeGreaterThan(0)
  })
})
