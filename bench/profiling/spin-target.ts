/**
 * Bare Fastify + `Map` (as bench/http/fastify-map.ts) with `BENCH_SPIN_US` microseconds of busy
 * JavaScript added to every request in an `onRequest` hook (none when 0). The `sensitivity` group
 * loads several spins side by side: how much requests/s a fixed amount of per-request JavaScript
 * costs on this machine, which is the scale every "<= 5 %" target is read against.
 */
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { openItemBytes } from '../http/item-bytes.js'
import type { RunningTarget } from '../lib/target.js'

export async function start(port: number): Promise<RunningTarget> {
  const spinUs = Number(process.env.BENCH_SPIN_US ?? 0)
  if (!Number.isFinite(spinUs) || spinUs < 0)
    throw new RangeError(`BENCH_SPIN_US: ${process.env.BENCH_SPIN_US}`)
  const items = openItemBytes()
  const app = Fastify({ logger: false })
  if (spinUs > 0) {
    const spinMs = spinUs / 1000
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
      if (body === undefined)
        return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: 'no item' } })
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
