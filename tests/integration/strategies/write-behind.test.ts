import { randomUUID } from 'node:crypto'
import { Registry } from 'prom-client'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerWriteBehindMetrics } from '../../../src/cache/strategies/write-behind-metrics.js'
import { createWriteBehind, type WriteBehind } from '../../../src/cache/strategies/write-behind.js'
import { InvalidOptionError, WriteBehindFullError, WriteBehindUnavailableError } from '../../../src/errors.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import { MemoryRepository, type Row } from './support/memory-repository.js'

describe.runIf(hasRedis)('write-behind (real Redis)', () => {
  const prefix = `test:strategies:${randomUUID().slice(0, 8)}`
  const open: WriteBehind<Row, number>[] = []
  const admin = createClient({ url: REDIS_URL })

  beforeAll(async () => {
    await admin.connect()
  })

  afterAll(async () => {
    await Promise.all(open.map((writes) => writes.close()))
    const keys = await admin.keys(`${prefix}:*`)
    if (keys.length > 0) await admin.del(keys)
    admin.destroy()
  })

  let queues = 0
  function queue(
    repository: MemoryRepository,
    options: Parameters<typeof createWriteBehind<Row, number>>[1] = {},
  ) {
    const writes = createWriteBehind<Row, number>(repository, {
      url: REDIS_URL,
      prefix,
      name: `q${queues}`,
      block: 50,
      retryDelay: 10,
      maxRetryDelay: 50,
      drainTimeout: 10_000,
      ...options,
    })
    open.push(writes)
    return writes
  }
  const fresh = () => {
    queues++
    return `q${queues}`
  }

  it('acknowledges a write once it is in Redis and flushes it to the repository', async () => {
    fresh()
    const repository = new MemoryRepository()
    const writes = queue(repository)
    await writes.connect()
    const saved = await writes.write({ id: 1, name: 'lamp', version: 0 }, { baseVersion: 3 })
    expect(saved).toEqual({ id: 1, name: 'lamp', version: 4 })
    await writes.flush()
    expect(repository.rows.get(1)).toEqual({ id: 1, name: 'lamp', version: 4 })
    expect(await writes.read(1)).toBeUndefined()
    const stats = await writes.stats()
    expect(stats.pending).toBe(0)
    expect(stats.flushed).toBe(1)
  })

  it('coalesces a burst of writes to one key into one upsert of the last version', async () => {
    fresh()
    const repository = new MemoryRepository()
    const writes = queue(repository, { flusher: false })
    await writes.connect()
    let last: Row | undefined
    for (let i = 0; i < 50; i++) last = await writes.write({ id: 7, name: `n${i}`, version: 0 })
    await writes.delete(8)
    expect(last?.version).toBe(50)
    await writes.flush()
    expect(repository.batches).toHaveLength(1)
    expect(repository.batches[0]?.upserts).toEqual([{ id: 7, name: 'n49', version: 50 }])
    expect(repository.batches[0]?.deletes).toEqual([{ id: 8, version: 1 }])
    expect((await writes.stats()).flushed).toBe(51)
  })

  it('shows a pending write to another instance while the flusher is paused (read-your-writes)', async () => {
    const name = fresh()
    const repository = new MemoryRepository()
    const a = queue(repository, { flusher: false, name })
    const b = queue(repository, { flusher: false, name })
    await a.write({ id: 5, name: 'pending', version: 0 }, { baseVersion: 1 })
    expect(await b.read(5)).toEqual({
      op: 'upsert',
      version: 2,
      entity: { id: 5, name: 'pending', version: 2 },
    })
    await a.delete(6, { baseVersion: 9 })
    expect(await b.readMany([6, 5, 4])).toEqual([
      { op: 'delete', version: 10 },
      { op: 'upsert', version: 2, entity: { id: 5, name: 'pending', version: 2 } },
      undefined,
    ])
    expect(repository.rows.size).toBe(0)
    // A write from B builds on A's pending version, not on the older one it was given.
    const next = await b.write({ id: 5, name: 'from b', version: 0 }, { baseVersion: 1 })
    expect(next.version).toBe(3)
    await a.flush()
    await b.flush()
    expect(repository.rows.get(5)).toEqual({ id: 5, name: 'from b', version: 3 })
    expect(await b.read(5)).toBeUndefined()
  })

  it('close() drains what this instance accepted before disconnecting, then refuses writes', async () => {
    fresh()
    const repository = new MemoryRepository()
    repository.down = true
    const writes = createWriteBehind<Row, number>(repository, {
      url: REDIS_URL,
      prefix,
      name: `q${queues}`,
      block: 50,
      retryDelay: 10,
      maxRetryDelay: 20,
    })
    for (let i = 0; i < 5; i++) await writes.write({ id: 90 + i, name: `drain ${i}`, version: 0 })
    const closing = writes.close()
    repository.down = false
    await closing
    expect([...repository.rows.keys()].sort()).toEqual([90, 91, 92, 93, 94])
    await expect(writes.write({ id: 99, name: 'late', version: 0 })).rejects.toMatchObject({
      code: 'E_WRITE_BEHIND_CLOSED',
      statusCode: 503,
    })
  })

  it('refuses an update of an entity whose delete is pending, so it cannot come back', async () => {
    fresh()
    const repository = new MemoryRepository()
    const writes = queue(repository, { flusher: false })
    expect(await writes.update({ id: 71, name: 'exists', version: 0 }, { baseVersion: 1 })).toEqual({
      id: 71,
      name: 'exists',
      version: 2,
    })
    await writes.delete(71, { baseVersion: 2 })
    expect(await writes.update({ id: 71, name: 'revived?', version: 0 }, { baseVersion: 2 })).toBeUndefined()
    await writes.flush()
    expect(repository.rows.has(71)).toBe(false)
    expect(repository.tombstones.get(71)).toBe(3)
  })

  it('refuses writes above maxPending, loses nothing while the database is down, and resumes', async () => {
    fresh()
    const repository = new MemoryRepository()
    repository.down = true
    const writes = queue(repository, { maxPending: 20, batchSize: 5 })
    await writes.connect()
    const acknowledged: Row[] = []
    let refused: unknown
    for (let i = 0; i < 30; i++) {
      try {
        acknowledged.push(await writes.write({ id: i, name: `r${i}`, version: 0 }))
      } catch (error) {
        refused = error
        break
      }
    }
    expect(refused).toBeInstanceOf(WriteBehindFullError)
    expect(refused).toMatchObject({ statusCode: 503, code: 'E_WRITE_BEHIND_FULL', retryAfter: 1 })
    expect(acknowledged).toHaveLength(20)
    expect((await writes.stats()).retries).toBeGreaterThan(0)
    expect(await writes.read(3)).toMatchObject({ op: 'upsert', entity: { name: 'r3' } })
    repository.down = false
    await writes.flush()
    for (const row of acknowledged) expect(repository.rows.get(row.id)).toEqual(row)
    const stats = await writes.stats()
    expect(stats.pending).toBe(0)
    expect(stats.deadLetters).toBe(0)
  })

  it('exposes pending, lag, dead letters and counters as Prometheus metrics', async () => {
    fresh()
    const repository = new MemoryRepository()
    const writes = queue(repository, { flusher: false })
    const registry = new Registry()
    registerWriteBehindMetrics(writes, registry)
    await writes.write({ id: 81, name: 'a', version: 0 })
    await writes.write({ id: 82, name: 'b', version: 0 })
    const before = await registry.metrics()
    expect(before).toMatch(/hotpath_write_behind_pending\{queue="q\d+"\} 2/)
    expect(before).toMatch(/hotpath_write_behind_flushed_total\{queue="q\d+"\} 0/)
    await writes.flush()
    const after = await registry.metrics()
    expect(after).toMatch(/hotpath_write_behind_pending\{queue="q\d+"\} 0/)
    expect(after).toMatch(/hotpath_write_behind_flushed_total\{queue="q\d+"\} 2/)
    expect(after).toMatch(/hotpath_write_behind_lag_seconds\{queue="q\d+"\} 0/)
  })

  it('dead-letters a write that keeps failing, flushes the rest, and replays it on demand', async () => {
    fresh()
    const repository = new MemoryRepository()
    repository.poison.add(13)
    const writes = queue(repository, { maxAttempts: 3 })
    const letters: string[] = []
    writes.on('dead-letter', ({ key }) => letters.push(key))
    await writes.connect()
    await writes.write({ id: 12, name: 'fine', version: 0 })
    await writes.write({ id: 13, name: 'poison', version: 0 })
    await writes.write({ id: 14, name: 'fine too', version: 0 })
    await writes.flush()
    expect(letters).toEqual(['13'])
    expect([...repository.rows.keys()].sort()).toEqual([12, 14])
    expect(await writes.read(13)).toBeUndefined()
    const [letter] = await writes.deadLetters.list()
    expect(letter).toMatchObject({ key: '13', op: 'upsert', version: 1, id: 13, attempts: 3 })
    expect(letter?.error).toContain('constraint violated')

    repository.poison.clear()
    expect(await writes.deadLetters.replay()).toEqual({ replayed: 1, superseded: 0, refused: 0 })
    await writes.flush()
    expect(repository.rows.get(13)).toEqual({ id: 13, name: 'poison', version: 1 })
    expect(await writes.deadLetters.count()).toBe(0)
  })

  it('drops a replayed dead letter that a newer write superseded', async () => {
    fresh()
    const repository = new MemoryRepository()
    repository.poison.add(21)
    const writes = queue(repository, { maxAttempts: 1 })
    await writes.connect()
    await writes.write({ id: 21, name: 'old', version: 0 })
    await writes.flush()
    repository.poison.clear()
    await writes.write({ id: 21, name: 'new', version: 0 })
    await writes.flush()
    expect(await writes.deadLetters.replay()).toEqual({ replayed: 0, superseded: 1, refused: 0 })
    await writes.flush()
    expect(repository.rows.get(21)).toEqual({ id: 21, name: 'new', version: 2 })
  })

  it('reclaims the writes of a consumer that died before acknowledging them', async () => {
    const name = fresh()
    const repository = new MemoryRepository()
    repository.hold()
    const dying = queue(repository, { name, consumer: 'dying' })
    await dying.connect()
    await dying.write({ id: 31, name: 'taken', version: 0 })
    // Wait until the dying consumer has taken the write (it is now in its pending list, held in "apply").
    const admin2 = admin
    await expect
      .poll(async () =>
        Number(((await admin2.sendCommand(['XPENDING', dying.keys.stream, 'flushers'])) as [number])[0]),
      )
      .toBe(1)
    // Simulate the crash: it never acknowledges. Another consumer reclaims after claimIdle.
    const other = new MemoryRepository()
    const rescuer = queue(other, { name, consumer: 'survivor', claimIdle: 100, claimInterval: 50 })
    await rescuer.connect()
    await expect
      .poll(() => other.rows.get(31), { timeout: 5_000 })
      .toEqual({ id: 31, name: 'taken', version: 1 })
    expect((await rescuer.stats()).claimed).toBe(1)
    repository.release()
  })

  it('a restarted consumer first re-reads its own pending writes', async () => {
    const name = fresh()
    const repository = new MemoryRepository()
    const writer = queue(repository, { name, flusher: false })
    await writer.write({ id: 41, name: 'mine', version: 0 })
    // Take the write as consumer "same" without acknowledging it, as a killed process would.
    await admin.sendCommand([
      'XREADGROUP',
      'GROUP',
      'flushers',
      'same',
      'COUNT',
      '10',
      'STREAMS',
      writer.keys.stream,
      '>',
    ])
    const restarted = queue(repository, { name, consumer: 'same', claimIdle: 3_600_000 })
    await restarted.connect()
    await expect
      .poll(() => repository.rows.get(41), { timeout: 5_000 })
      .toEqual({ id: 41, name: 'mine', version: 1 })
    expect((await restarted.stats()).claimed).toBe(0)
  })

  it('flushes even when the afterCommit hook fails, and reports the failure', async () => {
    fresh()
    const repository = new MemoryRepository()
    const errors: string[] = []
    const writes = queue(repository, {
      afterCommit: () => {
        throw new Error('cache unavailable')
      },
    })
    writes.on('error', ({ operation }) => errors.push(operation))
    await writes.connect()
    await writes.write({ id: 51, name: 'once', version: 0 })
    await writes.flush()
    expect(repository.rows.get(51)).toEqual({ id: 51, name: 'once', version: 1 })
    expect(errors).toContain('afterCommit')
  })

  it('WAITAOF needs Redis >= 7.2: connect() says so instead of failing every write', async () => {
    fresh()
    const info = String(await admin.sendCommand(['INFO', 'server']))
    const [, major = '0', minor = '0'] = /redis_version:(\d+)\.(\d+)/.exec(info) ?? []
    const writes = queue(new MemoryRepository(), { waitAof: { local: 1, replicas: 0 } })
    if (Number(major) > 7 || (Number(major) === 7 && Number(minor) >= 2)) {
      // A newer server: WAITAOF exists, so connect() goes on (and writes need appendonly yes).
      await expect(writes.connect()).resolves.toBeUndefined()
    } else {
      await expect(writes.connect()).rejects.toThrow(InvalidOptionError)
      await expect(writes.connect()).rejects.toThrow(/>= 7\.2/)
    }
  })

  it('WAIT for a replica that does not exist fails the write with a 503 (the write stays queued)', async () => {
    fresh()
    const repository = new MemoryRepository()
    const writes = queue(repository, { waitReplicas: 1, waitTimeout: 50 })
    await writes.connect()
    const refused = await writes
      .write({ id: 61, name: 'unreplicated', version: 0 })
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(WriteBehindUnavailableError)
    expect(refused).toMatchObject({ statusCode: 503, message: expect.stringContaining('0 of 1 replicas') })
    await writes.flush()
    expect(repository.rows.get(61)?.name).toBe('unreplicated')
  })
})
