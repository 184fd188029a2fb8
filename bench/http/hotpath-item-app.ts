/**
 * The Hotpath targets' app: `GET /items/:id` on the uncached SQLite loader (same params schema and
 * compiled response serializer as the service and the peers), behind the `httpCache` plugin.
 * `HTTP_CACHE_L2=1` adds the Redis tier (`REDIS_URL`, default redis://127.0.0.1:6379).
 */
import { randomBytes } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { Item } from '../../service/src/items/schemas.js'
import { createCache } from '../../src/cache/index.js'
import { redisStore } from '../../src/cache/stores/redis/index.js'
import type { Cache } from '../../src/cache/types.js'
import { httpCache } from '../../src/fastify/http-cache.js'
import { openItemsDb } from '../lib/items-db.js'
import type { RunningTarget } from '../lib/target.js'

export interface HotpathItemAppOptions {
  fastLane: boolean
}

export async function startHotpathItemApp(
  port: number,
  options: HotpathItemAppOptions,
): Promise<RunningTarget> {
  const db = openItemsDb()
  const cache: Cache = createCache({
    prefix: `bench-http-${randomBytes(4).toString('hex')}`,
    ...(process.env.HTTP_CACHE_L2 === '1' ? { l2: redisStore({ url: process.env.REDIS_URL }) } : {}),
  })
  const app: FastifyInstance = Fastify({ logger: false })
  await app.register(httpCache, { cache, fastLane: options.fastLane })
  app.get<{ Params: { id: number } }>(
    '/items/:id',
    {
      schema: { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }), response: { 200: Item } },
      config: {
        // No `etag` callback: it would cost a second SQLite read on every miss; the body hash is
        // computed once per stored entry instead.
        httpCache: { policy: { scope: 'public', maxAge: '1m' }, tags: ['items'] },
      },
    },
    async (request, reply) => {
      const item = db.get(request.params.id)
      if (!item) {
        return reply
          .code(404)
          .send({ error: { code: 'E_NOT_FOUND', message: `no item ${request.params.id}` } })
      }
      return item
    },
  )
  await app.listen({ port, host: '127.0.0.1' })
  return {
    async close() {
      await app.close()
      await cache.close()
      db.close()
    },
  }
}
