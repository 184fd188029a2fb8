import { describe, expect, it } from 'vitest'
import { chaosStore } from '../../../src/cache/stores/chaos-store.js'
import { MemoryStore } from '../../../src/cache/stores/memory/memory-store.js'
import { CacheStoreError, InvalidOptionError } from '../../../src/errors.js'
import { storeSuite } from './store-suite.js'

describe('memory store', () => {
  storeSuite(() => ({ store: new MemoryStore(), prefix: 'mem:' }))
})

describe('memory store behind a healthy chaos wrapper', () => {
  storeSuite(() => ({ store: chaosStore(new MemoryStore()), prefix: 'chaos:' }))
})

describe('chaos store', () => {
  const entry = {
    value: 1,
    version: 1,
    createdAt: 0,
    freshUntil: Date.now() + 60_000,
    staleUntil: Date.now() + 60_000,
    tags: [],
    etag: '"x"',
  }

  it('throws, hangs until released and recovers on demand', async () => {
    const store = chaosStore(new MemoryStore())
    await store.set('k', entry)
    store.chaos.throwing()
    await expect(store.get('k')).rejects.toThrow(CacheStoreError)
    store.chaos.hanging()
    let settled = false
    const pending = Promise.resolve(store.get('k')).then((e) => {
      settled = true
      return e
    })
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(settled).toBe(false)
    store.chaos.healthy()
    expect((await pending)?.value).toBe(1)
    expect(store.chaos.faults).toBe(2)
  })
})

describe('memory store bounds', () => {
  it('rejects bad bounds', () => {
    expect(() => new MemoryStore({ maxBytes: 0 })).toThrow(InvalidOptionError)
    expect(() => new MemoryStore({ maxItems: 1.5 })).toThrow(InvalidOptionError)
  })

  it('does not keep an entry over maxEntryBytes', () => {
    const store = new MemoryStore({ maxEntryBytes: 1_000 })
    const big = {
      value: Buffer.alloc(5_000),
      version: 1,
      createdAt: 0,
      freshUntil: Date.now() + 1e6,
      staleUntil: Date.now() + 1e6,
      tags: [],
      etag: '"x"',
    }
    expect(store.set('big', big)).toBe(false)
    expect(store.get('big')).toBeUndefined()
  })
})
