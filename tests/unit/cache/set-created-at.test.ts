import { describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/index.js'
import { InvalidOptionError } from '../../../src/errors.js'

describe('set({ createdAt }): dating an entry from when its data was read', () => {
  it('an entry read before a tag invalidation and set after it is not served', async () => {
    const cache = createCache({ ttlJitter: 0 })
    const readAt = Date.now() - 10
    await cache.invalidateTags(['item:1'])
    await cache.set('k', 'old', { tags: ['item:1'], createdAt: readAt })
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })

  it('without createdAt the same set is served (last writer wins)', async () => {
    const cache = createCache({ ttlJitter: 0 })
    await cache.invalidateTags(['item:1'])
    const entry = await cache.set('k', 'new', { tags: ['item:1'] })
    expect(await cache.get('k')).toBe('new')
    expect(entry.createdAt).toBeGreaterThan(Date.now() - 1_000)
    await cache.close()
  })

  it('freshness counts from createdAt, and a future createdAt counts as now', async () => {
    const cache = createCache({ ttlJitter: 0 })
    const readAt = Date.now() - 1_000
    const past = await cache.set('a', 1, { ttl: 60_000, createdAt: readAt })
    expect(past.createdAt).toBe(readAt)
    expect(past.freshUntil).toBe(readAt + 60_000)
    const future = await cache.set('b', 2, { createdAt: Date.now() + 60_000 })
    expect(future.createdAt).toBeLessThanOrEqual(Date.now() + 1)
    await cache.close()
  })

  it('rejects a createdAt that is not a time', async () => {
    const cache = createCache()
    await expect(cache.set('k', 1, { createdAt: Number.NaN })).rejects.toBeInstanceOf(InvalidOptionError)
    await cache.close()
  })
})
