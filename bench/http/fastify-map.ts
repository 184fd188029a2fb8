/**
 * Bare Fastify serving precomputed JSON bytes from a `Map` for `GET /items/:id` (params validated
 * like the service): the framework's own cost, the bar the response cache is measured against.
 */
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import type { RunningTarget } from '../lib/target.js'
import { openItemBytes } from './item-bytes.js'
import { runAlone } from './run-alone.js'

export interface FastifyMapOptions {
  /** Busy JavaScript added to every request in an `onRequest` hook, in µs (none when 0). @default 0 */
  spinUs?: number
}

export async function start(port: number, options: FastifyMapOptions = {}): Promise<RunningTarget> {
  const items = openItemBytes()
  const app = Fastify({ logger: false })
  const spinMs = (options.spinUs ?? 0) / 1000
  if (spinMs > 0) {
    app.addHook('onRequest', (_request, _reply, done) => {
      const until = performance.now() + spinMs
      while (performance.now() < until);
      done()
    })
  }
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
