/**
 * Failure paths: the shared tier dies or hangs under a running response cache. Requests keep being
 * answered correctly (from L1 or the handler), never with a 5xx and never hanging.
 */
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/index.js'
import { redisStore } from '../../../src/cache/stores/redis/index.js'
import type { Cache } from '../../../src/cache/types.js'
import { httpCache } from '../../../src/fastify/http-cache.js'
import { hasRedis } from '../../helpers/services.js'
import { DedicatedRedis } from '../cache/helpers.js'

interface Running {
  app: FastifyInstance
  cache: Cache
  redis: DedicatedRedis
  calls: { n: number }
}

let running: Running | undefined

afterEach(async () => {
  if (!running) return
  running.redis.signal('SIGCONT')
  await running.app.close()
  await running.cache.close()
  await running.redis.kill()
  running = undefined
})

async function setup(): Promise<Running> {
  const redis = new DedicatedRedis()
  await redis.start()
  const cache = createCache({
    ttlJitter: 0,
    prefix: `test-http-faults-${randomBytes(4).toString('hex')}`,
    l2: redisStore({ url: redis.url, timeout: 200, breakerThreshold: 2, breakerDuration: 60_000 }),
  })
  const app = Fastify()
  await app.register(httpCache, { cache })
  const calls = { n: 0 }
  app.get(
    '/items/:id',
    { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' } } } },
    async (req) => {
      calls.n++
      return { id: (req.params as { id: string }).id }
    },
  )
  app.put('/items/:id', async () => ({ ok: true }))
  await app.ready()
  running = { app, cache, redis, calls }
  return running
}

describe.runIf(hasRedis)('response cache when Redis fails', () => {
  it.each(['SIGKILL', 'SIGSTOP'] as const)('keeps answering correctly after %s', async (signal) => {
    const { app, redis, calls } = await setup()
    expect((await app.inject('/items/1')).headers['x-cache']).toBe('miss')
    expect((await app.inject('/items/1')).json()).toEqual({ id: '1' })

    if (signal === 'SIGKILL') await redis.kill()
    else redis.signal('SIGSTOP')

    for (let i = 0; i < 6; i++) {
      for (const id of ['1', '2']) {
        const res = await app.inject(`/items/${id}`)
        expect(res.statusCode).toBe(200)
        expect(res.json()).toEqual({ id })
      }
    }
    // Writes still succeed while the invalidation cannot reach Redis.
    expect((await app.inject({ method: 'PUT', url: '/items/1' })).statusCode).toBe(200)
    const after = await app.inject('/items/1')
    expect(after.statusCode).toBe(200)
    expect(after.json()).toEqual({ id: '1' })
    expect(calls.n).toBeGreaterThan(1)
  })
})
