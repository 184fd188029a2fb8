import { describe, expect, it } from 'vitest'
import { createServiceCache, itemEtag, userTag } from '../../../service/src/cache/service-cache.js'
import type { Item } from '../../../service/src/items/schemas.js'
import { createCache } from '../../../src/cache/create-cache.js'

const item = (version: number, name = `v${version}`): Item => ({
  id: 1,
  name,
  category: 'books',
  price: 100,
  description: '',
  updatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, version)).toISOString(),
  version,
})

describe('itemEtag', () => {
  it('is a strong tag that changes with the version and the modification time', () => {
    expect(itemEtag(item(3))).toMatch(/^"v3-[0-9a-z]+"$/)
    expect(itemEtag(item(3))).toBe(itemEtag(item(3)))
    expect(itemEtag(item(4))).not.toBe(itemEtag(item(3)))
    expect(itemEtag({ version: 3, updatedAt: '2026-02-01T00:00:00.000Z' })).not.toBe(itemEtag(item(3)))
  })
})

describe('ServiceCache (memory only)', () => {
  it('reads items cache-aside: one load, then L1 hits with the item ETag', async () => {
    const cache = createServiceCache()
    let loads = 0
    const load = async () => {
      loads++
      return item(2)
    }
    expect(await cache.item(1, load)).toEqual({ value: item(2), source: 'miss', etag: itemEtag(item(2)) })
    expect(await cache.item(1, load)).toMatchObject({ source: 'hit-l1', etag: itemEtag(item(2)) })
    expect(loads).toBe(1)
    await cache.close()
  })

  it('never caches "not found", so a create is visible at once', async () => {
    const cache = createServiceCache()
    expect(await cache.item(1, async () => undefined)).toEqual({ value: undefined, source: 'miss', etag: '' })
    await cache.itemWritten(item(1))
    expect(await cache.item(1, async () => undefined)).toMatchObject({ value: item(1), source: 'hit-l1' })
    await cache.close()
  })

  it('orders writes by item version: an older row never replaces a newer one', async () => {
    const cache = createServiceCache()
    await cache.itemWritten(item(5, 'newer'))
    await cache.itemSet(item(4, 'older'))
    expect((await cache.item(1, async () => item(4, 'older'))).value).toMatchObject({ name: 'newer' })
    await cache.close()
  })

  it('drops list pages and searches on any item write, and posts pages by user tag', async () => {
    const cache = createServiceCache()
    const page = { page: 1, size: 20 }
    await cache.itemList(page, async () => 'page')
    await cache.search('lamp', 20, async () => 'found')
    await cache.userPosts(7, 1, 20, async () => ({ posts: [], hasMore: false }))
    await cache.userPosts(8, 1, 20, async () => ({ posts: [], hasMore: false }))
    expect((await cache.itemList(page, async () => 'again')).source).toBe('hit-l1')

    await cache.itemDeleted(3)
    expect(await cache.itemList(page, async () => 'reloaded')).toMatchObject({
      value: 'reloaded',
      source: 'miss',
    })
    expect((await cache.search('lamp', 20, async () => 'found again')).source).toBe('miss')

    await cache.userChanged(7)
    expect(userTag(7)).toBe('user:7')
    expect((await cache.userPosts(7, 1, 20, async () => ({ posts: [], hasMore: true }))).source).toBe('miss')
    expect((await cache.userPosts(8, 1, 20, async () => ({ posts: [], hasMore: true }))).source).toBe(
      'hit-l1',
    )
    await cache.close()
  })

  it('with reads off, calls the loader every time and says nothing about a source', async () => {
    const cache = createServiceCache({ reads: false })
    let loads = 0
    const load = async () => {
      loads++
      return item(1)
    }
    await cache.item(1, load)
    expect(await cache.item(1, load)).toEqual({ value: item(1), source: undefined, etag: itemEtag(item(1)) })
    expect(await cache.itemList({ page: 1, size: 5 }, async () => 'x')).toEqual({
      value: 'x',
      source: undefined,
      etag: '',
    })
    expect(loads).toBe(2)
    await cache.close()
  })

  it('leaves a cache it was given open on close()', async () => {
    const shared = createCache()
    const cache = createServiceCache({ cache: shared })
    await cache.close()
    await shared.set('still', 'open')
    expect(await shared.get('still')).toBe('open')
    await shared.close()
  })
})
