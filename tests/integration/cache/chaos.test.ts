import { afterAll, describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/index.js'
import { chaosStore, type ChaosControl } from '../../../src/cache/stores/chaos-store.js'
import { RedisStore, redisStore } from '../../../src/cache/stores/redis/index.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import { sleep, uniquePrefix, untilTrusted } from './helpers.js'

describe.runIf(hasRedis)('cache over a chaotic shared tier', () => {
  const prefix = uniquePrefix('chaos')
  const base = redisStore({ url: REDIS_URL, breakerThreshold: 1_000 })
  let store: (RedisStore & ChaosControl) | undefined
  const cache = createCache({
    prefix,
    ttlJitter: 0,
    grace: '1m',
    l2: {
      options: base.options,
      factory: () => {
        store = chaosStore(new RedisStore(base.options))
        return store
      },
    },
  })
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)

  afterAll(async () => {
    store?.chaos.healthy()
    await cache.close()
    process.off('unhandledRejection', onUnhandled)
    const cleaner = base.factory()
    await cleaner.connect()
    await cleaner.clearPrefix(prefix)
    cleaner.close()
  })

  it('a throwing L2: getOrSet answers from the loader, reads miss or fall back, errors are counted', async () => {
    await untilTrusted(cache)
    await cache.set('warm', 'w')
    store?.chaos.throwing()
    expect(await cache.getOrSet('cold', () => 'loaded')).toBe('loaded')
    expect(await cache.getOrSet('cold2', () => 'loaded2')).toBe('loaded2')
    expect(await cache.get('never')).toBeUndefined()
    await expect(cache.set('x', 1)).rejects.toThrow(/chaos/)
    expect(cache.stats().loads).toBe(2)
    store?.chaos.healthy()
  })

  it('a slow L2: answers stay correct', async () => {
    store?.chaos.delaying(30)
    await cache.set('slow', 'v')
    expect(await cache.getOrSet('slow', () => 'other')).toBe('v')
    store?.chaos.healthy()
    expect(store?.chaos.faults).toBeGreaterThan(0)
  })

  it('a hanging L2 released later: the pending calls complete', async () => {
    store?.chaos.hanging()
    const pending = cache.getOrSet('hang', () => 'loaded')
    await sleep(30)
    store?.chaos.healthy()
    expect(await pending).toBe('loaded')
    await sleep(20)
    expect(unhandled).toEqual([])
  })
})
