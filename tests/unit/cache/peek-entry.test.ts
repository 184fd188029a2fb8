import { describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/index.js'

describe('peekEntry: the synchronous L1 read', () => {
  it('returns a fresh L1 entry synchronously and counts an L1 hit', async () => {
    const cache = createCache({ ttlJitter: 0 })
    const set = await cache.set('k', { a: 1 }, { tags: ['t'] })
    const peeked = cache.peekEntry?.<{ a: number }>('k')
    expect(peeked).toEqual({ entry: set, source: 'hit-l1' })
    expect(cache.stats().l1.hits).toBe(1)
    await cache.close()
  })

  it('is undefined for a missing, expired or tag-invalidated entry (what getEntry would not serve fresh)', async () => {
    const cache = createCache({ ttlJitter: 0, grace: '1m' })
    expect(cache.peekEntry?.('missing')).toBeUndefined()
    await cache.set('expired', 1)
    await cache.expire('expired')
    expect(cache.peekEntry?.('expired')).toBeUndefined()
    expect((await cache.getEntry('expired'))?.source).toBe('stale')
    await cache.set('tagged', 1, { tags: ['t'] })
    await cache.invalidateTags(['t'])
    expect(cache.peekEntry?.('tagged')).toBeUndefined()
    await cache.close()
  })

  it('sees namespace invalidation', async () => {
    const cache = createCache({ ttlJitter: 0 })
    const child = cache.namespace('child')
    await child.set('k', 1)
    expect(child.peekEntry?.('k')?.entry.value).toBe(1)
    await cache.invalidateNamespace('child')
    expect(child.peekEntry?.('k')).toBeUndefined()
    await cache.close()
  })
})
