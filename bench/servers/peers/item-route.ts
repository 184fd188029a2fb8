/**
 * The `GET /items/:id` route every Fastify peer shares: same params validation and response
 * schema (so the same compiled serializer) as the reference service; only the cache differs.
 */
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { Item } from '../../../service/src/items/schemas.js'
import type { ApiItem } from '../../lib/items-db.js'

/** Register `GET /items/:id`, answering from `load` (which goes through the peer's cache). */
export function registerItemRoute(app: FastifyInstance, load: (id: number) => Promise<ApiItem | null>): void {
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500
    return reply.code(status).send({ error: { code: error.code ?? 'E_INTERNAL', message: error.message } })
  })
  app.get<{ Params: { id: number } }>(
    '/items/:id',
    {
      schema: {
        params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
        response: { 200: Item },
      },
    },
    async (request, reply) => {
      const item = await load(request.params.id)
      if (item === null) {
        return reply
          .code(404)
          .send({ error: { code: 'E_NOT_FOUND', message: `no item ${request.params.id}` } })
      }
      return item
    },
  )
}
