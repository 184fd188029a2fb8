import v8 from 'node:v8'
import vm from 'node:vm'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisStore, type RedisStore } from '../../../src/cache/stores/redis/index.js'
import { encodePayload, etagOf } from '../../../src/cache/entry.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import { storeSuite } from '../../unit/cache/store-suite.js'
import { uniquePrefix } from './helpers.js'

describe.runIf(hasRedis)('redis store', () => {
  let store: RedisStore
  const prefix = uniquePrefix('store')
  let n = 0

  beforeAll(async () => {
    store = redisStore({ url: REDIS_URL, leaseTtl: 2_000 }).factory()
    await store.connect()
  })

  afterAll(async () => {
    await store.clearPrefix(prefix)
    store.close()
  })

  storeSuite(() => ({ store, prefix: `${prefix}:${n++}:` }))

  const entry = (value: unknown, version: number, createdAt = version) => {
    const payload = encodePayload(value, store.options.codec)
    const now = Date.now()
    return {
      payload,
      entry: {
        value,
        version,
        createdAt,
        freshUntil: now + 60_000,
        staleUntil: now + 60_000,
        tags: [],
        etag: etagOf(payload),
      },
    }
  }

  it('a delete leaves a tombstone: a fill that started before it cannot write back', async () => {
    const key = `${prefix}:tomb`
    const before = entry('old', Date.now() - 10)
    await store.remove(key, Date.now())
    expect(await store.write(key, before.entry, before.payload, { mode: 'fill' })).toBe(false)
    expect(await store.get(key)).toBeUndefined()
    const after = entry('new', Date.now() + 10)
    expect(await store.write(key, after.entry, after.payload, { mode: 'fill' })).toBe(true)
    expect((await store.get(key))?.value).toBe('new')
  })

  it('a tombstone compares fill start times, not versions: row-versioned fills and sets work after a delete', async () => {
    const key = `${prefix}:rowversion`
    const deletedAt = Date.now()
    await store.remove(key, deletedAt)
    // A fill that read the row before the delete (row version 7) is refused...
    const before = entry('row v7', 7, deletedAt - 5)
    expect(await store.write(key, before.entry, before.payload, { mode: 'fill' })).toBe(false)
    // ...one that started after it lands, although 8 is far below the tombstone's time.
    const after = entry('row v8', 8, deletedAt + 5)
    expect(await store.write(key, after.entry, after.payload, { mode: 'fill' })).toBe(true)
    // Row versions then order writes as usual.
    const older = entry('row v7 again', 7, deletedAt + 10)
    expect(await store.write(key, older.entry, older.payload, { mode: 'set-versioned' })).toBe(false)
    const newer = entry('row v9', 9, deletedAt + 10)
    expect(await store.write(key, newer.entry, newer.payload, { mode: 'set-versioned' })).toBe(true)
    expect((await store.get(key))?.value).toBe('row v9')
  })

  it('leases: one holder at a time; a delete or a set revokes it so the holder cannot write', async () => {
    const key = `${prefix}:lease`
    const first = await store.acquireLease(key, 'tokenA', 5_000)
    const second = await store.acquireLease(key, 'tokenB', 5_000)
    expect(first.acquired).toBe(true)
    expect(second.acquired).toBe(false)
    await store.remove(key, Date.now() - 1_000) // tombstone older than the fill: only the lease protects
    const fill = entry('stale data', Date.now())
    expect(await store.write(key, fill.entry, fill.payload, { mode: 'fill', token: 'tokenA' })).toBe(false)
    // A revoked lease does not block a new holder.
    expect((await store.acquireLease(key, 'tokenC', 5_000)).acquired).toBe(true)
    const set = entry('explicit', Date.now() + 5)
    expect(await store.write(key, set.entry, set.payload, { mode: 'set' })).toBe(true)
    const lateFill = entry('late', Date.now() + 10)
    expect(await store.write(key, lateFill.entry, lateFill.payload, { mode: 'fill', token: 'tokenC' })).toBe(
      false,
    )
    expect((await store.get(key))?.value).toBe('explicit')
  })

  it('an explicit set without a caller version always lands (clock skew cannot drop it); with one it is checked', async () => {
    const key = `${prefix}:skew`
    const ahead = entry('from a clock ahead', Date.now() + 60_000)
    expect(await store.write(key, ahead.entry, ahead.payload, { mode: 'set' })).toBe(true)
    const behind = entry('latest intent', Date.now())
    expect(await store.write(key, behind.entry, behind.payload, { mode: 'fill' })).toBe(false)
    expect(await store.write(key, behind.entry, behind.payload, { mode: 'set-versioned' })).toBe(false)
    expect(await store.write(key, behind.entry, behind.payload, { mode: 'set' })).toBe(true)
    expect((await store.get(key))?.value).toBe('latest intent')
  })

  it('a lease holder that writes releases the lease', async () => {
    const key = `${prefix}:release`
    expect((await store.acquireLease(key, 't1', 5_000)).acquired).toBe(true)
    const fill = entry('v', Date.now())
    expect(await store.write(key, fill.entry, fill.payload, { mode: 'fill', token: 't1' })).toBe(true)
    const next = await store.acquireLease(key, 't2', 5_000)
    expect(next.acquired).toBe(true)
    expect((next.current?.value as { value: unknown }).value).toBe('v')
  })

  it('a settled call keeps no reference to its reply (large values are not held until the next timeout sweep)', async () => {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as () => void
    const client = createClient({ url: REDIS_URL })
    await client.connect()
    const replies: WeakRef<object>[] = []
    const send = client.sendCommand.bind(client)
    // Every reply the store receives is tracked; the timeout is long, so no sweep runs during the test.
    ;(client as { sendCommand: unknown }).sendCommand = async (...args: Parameters<typeof send>) => {
      const reply = await send(...args)
      if (typeof reply === 'object' && reply !== null) replies.push(new WeakRef(reply))
      return reply
    }
    const tracked = redisStore({ client, timeout: 60_000 }).factory()
    await tracked.connect()
    const key = `${prefix}:large`
    const large = entry('x'.repeat(256 * 1024), Date.now())
    expect(await tracked.write(key, large.entry, large.payload, { mode: 'set' })).toBe(true)
    for (let i = 0; i < 5; i++)
      expect(((await tracked.get(key)) as { value: string }).value).toHaveLength(256 * 1024)
    expect(replies.length).toBeGreaterThanOrEqual(5)
    await new Promise((resolve) => setTimeout(resolve, 0))
    gc()
    expect(replies.filter((ref) => ref.deref() !== undefined)).toHaveLength(0)
    tracked.close()
    client.destroy()
  })

  it('a read whose reply handling throws rejects at once instead of staying pending', async () => {
    const key = `${prefix}:corrupt`
    const raw = createClient({ url: REDIS_URL })
    await raw.connect()
    await raw.set(key, 'not an entry')
    const failing = redisStore({ url: REDIS_URL, timeout: 60_000 }).factory()
    // The decode failure is reported through the hook; a hook that throws must not hang the call.
    failing.hooks.onError = (operation) => {
      if (operation === 'decode') throw new Error('hook failed')
    }
    await failing.connect()
    await expect(failing.read(key)).rejects.toThrow('hook failed')
    failing.close()
    await raw.del(key)
    raw.destroy()
  })
})
