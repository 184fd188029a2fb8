import { randomUUID } from 'node:crypto'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/create-cache.js'
import { keyTemplate } from '../../../src/cache/keys.js'
import { redisStore } from '../../../src/cache/stores/redis/index.js'
import {
  AFTER_COMMIT_RETRY_INTERVAL_MS,
  createServiceCache,
  type ServiceCache,
} from '../../../service/src/cache/service-cache.js'
import type { Item } from '../../../service/src/items/schemas.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import { TcpProxy } from './support/tcp-proxy.js'

/**
 * `ServiceCache.afterCommit`: a cache update that fails after a committed write is retried in the
 * background until Redis takes it. The fault must drop the update while Redis keeps the old entry
 * (a paused Redis would apply the queued command later, a restarted one would come back empty): a
 * TCP proxy in front of the shared Redis, cut and then restored.
 */
describe.runIf(hasRedis)('ServiceCache.afterCommit retries a failed cache update', () => {
  const prefix = `hpacr${randomUUID().slice(0, 8)}`
  const real = new URL(REDIS_URL)
  const proxy = new TcpProxy(real.hostname, Number(real.port || 6379))
  const admin = createClient({ url: REDIS_URL })
  let writer: ServiceCache
  let reader: ServiceCache
  const key = keyTemplate<'id'>('{id}')({ id: 7 })

  const item = (version: number, name: string): Item => ({
    id: 7,
    name,
    category: 'c',
    price: 1,
    description: 'd',
    updatedAt: new Date(Date.UTC(2026, 0, version)).toISOString(),
    version,
  })

  beforeAll(async () => {
    await admin.connect()
    await proxy.start()
    // The instance whose update fails talks to Redis through the proxy.
    writer = createServiceCache({ redisUrl: `redis://127.0.0.1:${proxy.port}`, prefix })
    // What every other instance sees: Redis itself, no L1 (each read goes to Redis).
    reader = createServiceCache({
      cache: createCache({ l1: false, l2: redisStore({ url: REDIS_URL }), prefix }),
    })
  })

  afterAll(async () => {
    await writer?.close()
    await reader?.cache.close()
    await reader?.close()
    await proxy.cut()
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length > 0) await admin.del(keys)
    admin.destroy()
  })

  const storedVersion = async () => (await reader.items.getEntry<Item>(key))?.entry.value.version

  it('keeps retrying while Redis is unreachable and refreshes the entry once it is back', async () => {
    await writer.itemSet(item(1, 'old'))
    expect(await storedVersion()).toBe(1)

    await proxy.cut()
    const failures: unknown[] = []
    let attempts = 0
    await writer.afterCommit(
      () => {
        attempts++
        return writer.itemWritten(item(2, 'new'))
      },
      (error) => failures.push(error),
    )
    expect(failures).toHaveLength(1)
    // The update did not reach Redis: every other instance still reads the old entry.
    expect(await storedVersion()).toBe(1)
    // Background retries run (and fail) while the proxy is down, every AFTER_COMMIT_RETRY_INTERVAL_MS.
    const retried = Date.now() + 5 * AFTER_COMMIT_RETRY_INTERVAL_MS
    while (attempts < 2) {
      if (Date.now() > retried) throw new Error('no background retry of the failed cache update')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(await storedVersion()).toBe(1)

    await proxy.start()
    const deadline = Date.now() + 10_000
    while ((await storedVersion()) !== 2) {
      if (Date.now() > deadline) throw new Error('the failed cache update was never retried into Redis')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect((await reader.items.getEntry<Item>(key))?.entry.value.name).toBe('new')
  })
})
