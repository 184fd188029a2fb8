import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { sendableSerialization } from '../../../src/fastify/sendable-serialization.js'

const Item = {
  type: 'object',
  properties: { id: { type: 'integer' }, name: { type: 'string' } },
} as const

describe('sendableSerialization', () => {
  const apps: ReturnType<typeof Fastify>[] = []
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()))
  })

  async function app() {
    const server = Fastify({ schemaController: sendableSerialization() })
    apps.push(server)
    const seen: string[] = []
    server.addHook('onSend', async (_request, _reply, payload) => {
      seen.push(Buffer.isBuffer(payload) ? 'buffer' : typeof payload)
      return payload
    })
    // A shared schema: the compiler still resolves $ref through Fastify's own serializer factory.
    server.addSchema({ $id: 'item', ...Item })
    server.get<{ Params: { name: string } }>(
      '/items/:name',
      // `extra` is not in the schema: the serializer (not JSON.stringify) must have run.
      { schema: { response: { 200: { $ref: 'item#' } } } },
      async (request) => ({ id: 7, name: request.params.name, extra: 'dropped' }),
    )
    return { server, seen }
  }

  it('hands Fastify a non-ASCII body as its UTF-8 bytes, and the client gets the same JSON', async () => {
    const { server, seen } = await app()
    const response = await server.inject({ method: 'GET', url: `/items/${encodeURIComponent('Über 🚀')}` })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ id: 7, name: 'Über 🚀' })
    expect(Number(response.headers['content-length'])).toBe(Buffer.byteLength(response.body))
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    expect(seen).toEqual(['buffer'])
  })

  it('keeps an ASCII body a string', async () => {
    const { server, seen } = await app()
    const response = await server.inject({ method: 'GET', url: '/items/tent' })
    expect(response.json()).toEqual({ id: 7, name: 'tent' })
    expect(seen).toEqual(['string'])
  })
})
