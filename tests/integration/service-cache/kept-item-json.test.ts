/**
 * An in-memory item hit answered from an awaited read (write-behind reads the queue first) while
 * the response cache stores the answer through Redis: the route hands the kept JSON bytes back as
 * its result, so the response is sent once, with the same bytes as the first answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServiceApp } from '../../../service/src/context.js'
import { writeStrategySetup } from '../../../service/src/write-strategy/write-strategy-plugin.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import {
  dropPrefix,
  redisClient,
  seededDatabase,
  serviceApp,
  uniquePrefix,
  until,
  type RedisClient,
  type SeededDatabase,
} from '../security/support.js'

describe.runIf(hasRedis)('kept item JSON under write-behind and the Redis-backed response cache', () => {
  let db: SeededDatabase
  let app: ServiceApp
  let control: RedisClient
  const prefix = uniquePrefix('kept-json')
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled)
    db = await seededDatabase()
    control = await redisClient(REDIS_URL)
    app = await serviceApp(
      db,
      { REDIS_URL, CACHE_PREFIX: prefix, CACHE: 'on', HTTP_CACHE: 'on' },
      { plugins: [writeStrategySetup({ strategy: 'behind', redisUrl: REDIS_URL, prefix: `${prefix}:wb` })] },
    )
    // With Redis, L1 answers once the coherence channel is up (its first heartbeat).
    await until(() => app.service.cache?.cache.stats().l1Trusted === true, 'a trusted L1')
  })

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled)
    await app?.close()
    await db?.close()
    if (control) {
      await dropPrefix(control, prefix)
      await control.close()
    }
  })

  it('answers hit-l1 once, with the first answer’s bytes, while the stored response is written', async () => {
    const first = await app.inject({ method: 'GET', url: '/items/7' })
    expect(first.statusCode).toBe(200)
    for (let round = 0; round < 3; round++) {
      // Drop the stored response only: the next request runs the route, whose data read hits L1.
      await app.httpCache.invalidatePaths(['/items/7'])
      const again = await app.inject({ method: 'GET', url: '/items/7' })
      expect(again.statusCode).toBe(200)
      // (X-Cache names the response cache's outcome here, a miss, not the data read's.)
      expect(again.headers['content-type']).toBe(first.headers['content-type'])
      expect(again.body).toBe(first.body)
    }
    await new Promise((resolve) => setImmediate(resolve))
    expect(unhandled).toEqual([])
  })
})
