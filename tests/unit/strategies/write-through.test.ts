import { describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/create-cache.js'
import type {
  VersionedDelete,
  WriteBatch,
  WriteRepository,
} from '../../../src/cache/strategies/repository.js'
import { createWriteThrough } from '../../../src/cache/strategies/write-through.js'
import type { Cache } from '../../../src/cache/types.js'

interface Row {
  id: number
  name: string
  version: number
}

class Rows implements WriteRepository<Row, number> {
  readonly rows = new Map<number, Row>()
  load = (id: number) => Promise.resolve(this.rows.get(id))
  loadMany = (ids: readonly number[]) => Promise.resolve(ids.map((id) => this.rows.get(id)))
  upsert = (entities: readonly Row[]) => this.apply({ upserts: entities, deletes: [] })
  delete = (targets: readonly VersionedDelete<number>[]) => this.apply({ upserts: [], deletes: targets })
  apply(batch: WriteBatch<Row, number>): Promise<void> {
    for (const row of batch.upserts) {
      if (row.version > (this.rows.get(row.id)?.version ?? 0)) this.rows.set(row.id, row)
    }
    for (const target of batch.deletes) {
      if ((this.rows.get(target.id)?.version ?? 0) < target.version) this.rows.delete(target.id)
    }
    return Promise.resolve()
  }
}

/** A cache whose `set` fails on demand (the fault), everything else real. */
function failingSets(cache: Cache): Cache & { failing: boolean } {
  const control = { failing: false }
  return new Proxy(cache, {
    get(target, property, receiver) {
      if (property === 'failing') return control.failing
      if (property === 'set' && control.failing) return () => Promise.reject(new Error('redis down'))
      const value = Reflect.get(target, property, receiver) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
    set(_target, property, value) {
      if (property === 'failing') control.failing = value as boolean
      return true
    },
  }) as Cache & { failing: boolean }
}

describe('write-through', () => {
  it('commits to the database, then caches the entity with its version', async () => {
    const rows = new Rows()
    const cache = createCache()
    const writes = createWriteThrough(rows, { cache })
    await writes.upsert([{ id: 1, name: 'a', version: 2 }])
    expect(rows.rows.get(1)).toEqual({ id: 1, name: 'a', version: 2 })
    const entry = await cache.getEntry<Row>('1')
    expect(entry?.entry.value).toEqual({ id: 1, name: 'a', version: 2 })
    expect(entry?.entry.version).toBe(2)
    await writes.delete([{ id: 1, version: 3 }])
    expect(rows.rows.has(1)).toBe(false)
    expect(await cache.get('1')).toBeUndefined()
    await cache.close()
  })

  it('caches what a version-assigning commit returned', async () => {
    const cache = createCache()
    const writes = createWriteThrough(new Rows(), { cache, keyOf: (id) => `item:${id}` })
    const saved = await writes.commit(4, () => Promise.resolve({ id: 4, name: 'from db', version: 9 }))
    expect(saved?.version).toBe(9)
    expect(await cache.get('item:4')).toEqual({ id: 4, name: 'from db', version: 9 })
    expect(await writes.commit(5, () => Promise.resolve(undefined))).toBeUndefined()
    expect(await writes.remove(4, () => Promise.resolve(true))).toBe(true)
    expect(await cache.get('item:4')).toBeUndefined()
    await cache.close()
  })

  it('never fails the write when the cache update fails, and drops the old entry instead', async () => {
    const rows = new Rows()
    const real = createCache()
    const cache = failingSets(real)
    const writes = createWriteThrough(rows, { cache })
    const errors: { key: string; invalidated: boolean }[] = []
    writes.on('cache-error', ({ key, invalidated }) => errors.push({ key, invalidated }))
    await writes.upsert([{ id: 1, name: 'old', version: 1 }])
    cache.failing = true
    await writes.upsert([{ id: 1, name: 'new', version: 2 }])
    expect(rows.rows.get(1)?.name).toBe('new')
    expect(await real.get('1')).toBeUndefined()
    expect(errors).toEqual([{ key: '1', invalidated: true }])
    await real.close()
  })
})
