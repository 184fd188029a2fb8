/**
 * The one suite every store driver must pass. Call it inside a `describe` with a factory that
 * returns a fresh store and a unique key prefix.
 */
import { expect, it } from 'vitest'
import type { Store } from '../../../src/cache/stores/store.js'
import type { CacheEntry } from '../../../src/cache/types.js'

export interface StoreUnderTest {
  store: Store
  prefix: string
}

function entry(value: unknown, version: number, ttl = 60_000, tags: string[] = []): CacheEntry {
  const now = Date.now()
  return {
    value,
    version,
    createdAt: now,
    freshUntil: now + ttl,
    staleUntil: now + ttl,
    tags,
    etag: `"e${version}"`,
  }
}

export function storeSuite(make: () => StoreUnderTest): void {
  it('stores and returns an entry with all its metadata, bytes included', async () => {
    const { store, prefix } = make()
    const written = entry({ id: 1, body: Buffer.from('hello') }, 10, 60_000, ['a', 'b'])
    expect(await store.set(`${prefix}k`, written)).toBe(true)
    const read = (await store.get(`${prefix}k`)) as CacheEntry<{ id: number; body: Buffer }>
    expect(read.value.id).toBe(1)
    expect(Buffer.from(read.value.body).toString()).toBe('hello')
    expect({ ...read, value: null }).toEqual({ ...written, value: null })
  })

  it('returns undefined for a missing key', async () => {
    const { store, prefix } = make()
    expect(await store.get(`${prefix}missing`)).toBeUndefined()
  })

  it('a write never replaces a newer version; an equal or newer version replaces', async () => {
    const { store, prefix } = make()
    await store.set(`${prefix}v`, entry('new', 20))
    expect(await store.set(`${prefix}v`, entry('old', 10))).toBe(false)
    expect((await store.get(`${prefix}v`))?.value).toBe('new')
    expect(await store.set(`${prefix}v`, entry('same', 20))).toBe(true)
    expect(await store.set(`${prefix}v`, entry('newer', 30))).toBe(true)
    expect((await store.get(`${prefix}v`))?.value).toBe('newer')
  })

  it('getMany answers in order with gaps', async () => {
    const { store, prefix } = make()
    await store.set(`${prefix}m1`, entry(1, 1))
    await store.set(`${prefix}m3`, entry(3, 1))
    const values = (await store.getMany([`${prefix}m1`, `${prefix}m2`, `${prefix}m3`])).map((e) => e?.value)
    expect(values).toEqual([1, undefined, 3])
  })

  it('delete and deleteMany remove entries', async () => {
    const { store, prefix } = make()
    for (const k of ['d1', 'd2', 'd3']) await store.set(`${prefix}${k}`, entry(k, 1))
    await store.delete(`${prefix}d1`)
    await store.deleteMany([`${prefix}d2`, `${prefix}d3`])
    expect(
      (await store.getMany([`${prefix}d1`, `${prefix}d2`, `${prefix}d3`])).every((e) => e === undefined),
    ).toBe(true)
  })

  it('forgets an entry after its grace period', async () => {
    const { store, prefix } = make()
    await store.set(`${prefix}short`, entry('x', 1, 30))
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(await store.get(`${prefix}short`)).toBeUndefined()
  })
}
