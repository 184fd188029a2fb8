import { afterAll, describe, expect, it } from 'vitest'
import { createWriteBehind } from '../../../src/cache/strategies/write-behind.js'
import { WriteBehindUnavailableError } from '../../../src/errors.js'
import { DedicatedRedis } from '../cache/helpers.js'
import { MemoryRepository, type Row } from './support/memory-repository.js'

describe('write-behind when its Redis stalls or dies', () => {
  const redis = new DedicatedRedis()
  const repository = new MemoryRepository()
  let writes: ReturnType<typeof createWriteBehind<Row, number>> | undefined
  let late: ReturnType<typeof createWriteBehind<Row, number>> | undefined
  const errors: string[] = []

  afterAll(async () => {
    redis.signal('SIGCONT')
    await writes?.close()
    await late?.close()
    await redis.kill()
  })

  it('answers 503 instead of hanging, never acknowledges what it cannot keep, and recovers', async () => {
    await redis.start()
    writes = createWriteBehind<Row, number>(repository, {
      url: redis.url,
      name: 'faults',
      timeout: 300,
      block: 50,
      retryDelay: 10,
      maxRetryDelay: 100,
      drainTimeout: 10_000,
    })
    writes.on('error', ({ operation }) => errors.push(operation))
    await writes.connect()
    await writes.write({ id: 1, name: 'before', version: 0 })
    await writes.flush()
    expect(repository.rows.get(1)?.name).toBe('before')

    redis.signal('SIGSTOP')
    await expect(writes.write({ id: 2, name: 'while frozen', version: 0 })).rejects.toBeInstanceOf(
      WriteBehindUnavailableError,
    )
    await expect(writes.read(1)).rejects.toMatchObject({
      statusCode: 503,
      code: 'E_WRITE_BEHIND_UNAVAILABLE',
    })
    redis.signal('SIGCONT')
    await writes.write({ id: 3, name: 'thawed', version: 0 })
    await writes.flush()
    expect(repository.rows.get(3)?.name).toBe('thawed')

    // Killed and restarted empty (no persistence): refused at once, then the group is recreated.
    await redis.kill()
    await expect(writes.write({ id: 4, name: 'while dead', version: 0 })).rejects.toBeInstanceOf(
      WriteBehindUnavailableError,
    )
    // An instance starting while Redis is down answers 503 instead of waiting for it.
    late = createWriteBehind<Row, number>(repository, {
      url: redis.url,
      name: 'faults',
      timeout: 300,
      flusher: false,
    })
    await expect(late.write({ id: 6, name: 'started while dead', version: 0 })).rejects.toBeInstanceOf(
      WriteBehindUnavailableError,
    )
    await redis.start()
    await expect
      .poll(
        async () =>
          (await late?.read(6).then(
            () => true,
            () => false,
          )) ?? false,
        { timeout: 10_000, interval: 100 },
      )
      .toBe(true)
    await expect
      .poll(
        async () => {
          try {
            await writes?.write({ id: 5, name: 'after restart', version: 0 })
            return true
          } catch {
            return false
          }
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe(true)
    await writes.flush()
    expect(repository.rows.get(5)?.name).toBe('after restart')
    expect(errors).toContain('flush')
  })
})
