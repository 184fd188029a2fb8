/**
 * Bare Fastify serving precomputed JSON bytes from a `Map` for `GET /items/:id` (params validated
 * like the service): the framework's own cost, the bar the response cache is measured against.
 */
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import type { RunningTarget } from '../lib/target.js'
import { openItemBytes } from './item-bytes.js'
import { runAlone } from './run-alone.js'

export async function start(port: number): Promise<RunningTarget> {
  const items = openItemBytes()
  const app = Fastify({ logger: false })
  app.get<{ Params: { id: number } }>(
    '/items/:id',
    { schema: { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }) } },
    async (request, reply) => {
      const body = items.get(request.params.id)
      if (body === undefined) {
        return reply
          .code(404)
          .send({ error: { code: 'E_NOT_FOUND', message: `no item ${request.params.id}` } })
      }
      return reply.type('application/json; charset=utf-8').send(body)
    },
  )
  await app.listen({ port, host: '127.0.0.1' })
  return {
    async close() {
      await app.close()
      items.close()
    },
  }
}

runAlone(import.meta.url, start)
