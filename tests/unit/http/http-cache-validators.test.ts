import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { httpCache } from '../../../src/fastify/http-cache.js'

// The entity validators (`etag`, `lastModified`) may answer synchronously or with a promise; the
// plugin takes a synchronous path for the first. Both must give the same answers.
const MODIFIED = Date.parse('2024-01-10T12:00:00Z')

let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

async function build(
  mode: 'sync' | 'async',
): Promise<{ app: FastifyInstance; order: string[]; handled: () => number }> {
  const order: string[] = []
  let handled = 0
  const instance = Fastify()
  await instance.register(httpCache, {})
  const wrap = <T>(value: T): T | Promise<T> =>
    mode === 'sync' ? value : new Promise((resolve) => setImmediate(() => resolve(value)))
  instance.get(
    '/things/:id',
    {
      config: {
        httpCache: {
          policy: { scope: 'public', noCache: true },
          etag: (request) => {
            order.push('etag')
            const id = (request.params as { id: string }).id
            if (id === 'boom') throw new Error('validator failed')
            return wrap(id === 'missing' ? undefined : `"v-${id}"`)
          },
          lastModified: (request) => {
            order.push('lastModified')
            return wrap((request.params as { id: string }).id === 'missing' ? undefined : MODIFIED)
          },
        },
      },
    },
    async (request, reply) => {
      handled++
      const id = (request.params as { id: string }).id
      if (id === 'missing') return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: 'none' } })
      return { id }
    },
  )
  instance.put(
    '/things/:id',
    { config: { httpCache: { etag: (request) => wrap(`"v-${(request.params as { id: string }).id}"`) } } },
    async () => {
      handled++
      return { ok: true }
    },
  )
  await instance.ready()
  app = instance
  return { app: instance, order, handled: () => handled }
}

describe.each(['sync', 'async'] as const)('entity validators answered %s', (mode) => {
  it('sends ETag and Last-Modified, answers 304 before the handler, and runs lastModified after etag', async () => {
    const { app, order, handled } = await build(mode)
    const first = await app.inject('/things/1')
    expect(first.statusCode).toBe(200)
    expect(first.json()).toEqual({ id: '1' })
    expect(first.headers.etag).toBe('"v-1"')
    expect(first.headers['last-modified']).toBe(new Date(MODIFIED).toUTCString())
    expect(first.headers['cache-control']).toBe('public, no-cache')
    expect(order).toEqual(['etag', 'lastModified'])

    const revalidated = await app.inject({ url: '/things/1', headers: { 'if-none-match': '"v-1"' } })
    expect(revalidated.statusCode).toBe(304)
    expect(revalidated.headers.etag).toBe('"v-1"')
    expect(revalidated.headers['cache-control']).toBe('public, no-cache')
    expect(revalidated.body).toBe('')
    const since = await app.inject({
      url: '/things/1',
      headers: { 'if-modified-since': new Date(MODIFIED).toUTCString() },
    })
    expect(since.statusCode).toBe(304)
    expect(handled()).toBe(1)

    const changed = await app.inject({ url: '/things/1', headers: { 'if-none-match': '"v-0"' } })
    expect(changed.statusCode).toBe(200)
    expect(handled()).toBe(2)
  })

  it('leaves a missing entity to the handler (a 404 is never a 304)', async () => {
    const { app, handled } = await build(mode)
    const res = await app.inject({ url: '/things/missing', headers: { 'if-none-match': '*' } })
    expect(res.statusCode).toBe(404)
    expect(res.headers.etag).toBeUndefined()
    expect(handled()).toBe(1)
  })

  it('answers 412 to a stale If-Match without running the handler', async () => {
    const { app, handled } = await build(mode)
    const stale = await app.inject({ method: 'PUT', url: '/things/1', headers: { 'if-match': '"v-0"' } })
    expect(stale.statusCode).toBe(412)
    expect(stale.json().error.code).toBe('E_HTTP_PRECONDITION_FAILED')
    const current = await app.inject({ method: 'PUT', url: '/things/1', headers: { 'if-match': '"v-1"' } })
    expect(current.statusCode).toBe(200)
    expect(handled()).toBe(1)
  })

  it('a validator that throws fails the request through the error handler, once', async () => {
    const { app, handled } = await build(mode)
    const res = await app.inject('/things/boom')
    expect(res.statusCode).toBe(500)
    expect(res.json().message).toBe('validator failed')
    expect(handled()).toBe(0)
  })
})
