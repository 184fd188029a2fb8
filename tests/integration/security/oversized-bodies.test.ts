/**
 * Bodies that try to exhaust the service: over BODY_LIMIT (declared and chunked), JSON with 100k
 * numeric-string keys within the limit (hash flooding), deep nesting, prototype keys. Each gets a
 * 4xx with a code, and the process keeps answering.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServiceApp } from '../../../service/src/context.js'
import { seededDatabase, serviceApp, type SeededDatabase } from './support.js'

const LIMIT = 256 * 1024

describe('oversized and hostile request bodies', () => {
  let db: SeededDatabase
  let app: ServiceApp

  beforeAll(async () => {
    db = await seededDatabase()
    app = await serviceApp(db, { BODY_LIMIT: String(LIMIT), CACHE: 'on', HTTP_CACHE: 'on' })
  })

  afterAll(async () => {
    await app?.close()
    await db?.close()
  })

  const postJson = (url: string, payload: string, method: 'POST' | 'PUT' | 'PATCH' = 'POST') =>
    app.inject({ method, url, payload, headers: { 'content-type': 'application/json' } })

  async function expectAlive() {
    const health = await app.inject({ method: 'GET', url: '/health' })
    expect(health.statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/items/1' })).statusCode).toBe(200)
  }

  it.each([
    ['POST /items', '/items', 'POST'],
    ['PUT /items/1', '/items/1', 'PUT'],
    ['PATCH /items/1', '/items/1', 'PATCH'],
  ] as const)('answers 413 E_BODY_TOO_LARGE above BODY_LIMIT on %s', async (_label, url, method) => {
    const payload = JSON.stringify({ name: 'a', category: 'b', price: 1, description: 'x'.repeat(LIMIT) })
    const response = await postJson(url, payload, method)
    expect(response.statusCode).toBe(413)
    expect(response.json()).toEqual({
      error: { code: 'E_BODY_TOO_LARGE', message: expect.stringContaining(`${LIMIT}-byte limit`) },
    })
    await expectAlive()
  })

  it('stops reading a chunked body (no Content-Length) once it passes the limit', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/items',
          headers: { 'content-type': 'application/json' },
        },
        (response) => {
          response.resume()
          resolve(response.statusCode ?? 0)
        },
      )
      // The server may close the socket while we are still writing: that is the point.
      request.on('error', (error) => (request.writableEnded ? undefined : reject(error)))
      const chunk = Buffer.alloc(16 * 1024, 0x20)
      request.write('{"name":"')
      let sent = 0
      const pump = () => {
        while (sent < LIMIT * 4) {
          sent += chunk.length
          if (!request.write(chunk)) return void request.once('drain', pump)
        }
        request.end('"}')
      }
      pump()
    })
    expect(status).toBe(413)
    await expectAlive()
  })

  it('rejects 100k numeric-string keys within the limit (hash flooding) with 400, not a hang', async () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `"${i}":0`).join(',')
    const flood = `{"name":"a","category":"b","price":1,${keys}}`
    const response = await app.inject({
      method: 'POST',
      url: '/items',
      payload: flood,
      headers: { 'content-type': 'application/json' },
    })
    // Over this app's 256 KiB limit: refused before parsing.
    expect(response.statusCode).toBe(413)
    const roomy = await serviceApp(db, { BODY_LIMIT: '2mib', CACHE: 'off' })
    try {
      expect(flood.length).toBeLessThan(2 * 1024 * 1024)
      const parsed = await roomy.inject({
        method: 'POST',
        url: '/items',
        payload: flood,
        headers: { 'content-type': 'application/json' },
      })
      expect(parsed.statusCode).toBe(400)
      expect(parsed.json().error).toEqual({
        code: 'E_VALIDATION',
        message: expect.stringMatching(/Unexpected property/),
      })
      const patch = await roomy.inject({
        method: 'PATCH',
        url: '/items/1',
        payload: `{${keys}}`,
        headers: { 'content-type': 'application/json' },
      })
      expect(patch.statusCode).toBe(400)
      expect((await roomy.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200)
    } finally {
      await roomy.close()
    }
    await expectAlive()
  })

  it.each([
    ['arrays 60k deep', `{"name":${'['.repeat(60_000)}${']'.repeat(60_000)}}`],
    ['objects 40k deep', `{"name":${'{"a":'.repeat(40_000)}1${'}'.repeat(40_000)}}`],
    [
      'objects 40k deep around __proto__',
      `{"name":${'{"a":'.repeat(40_000)}{"__proto__":{"x":1}}${'}'.repeat(40_000)}}`,
    ],
    ['constructor.prototype', '{"name":"a","category":"b","price":1,"constructor":{"prototype":{"x":1}}}'],
    ['__proto__', '{"name":"a","category":"b","price":1,"__proto__":{"x":1}}'],
  ])('answers 400 with a code for %s, and keeps answering', async (_label, payload) => {
    expect(payload.length).toBeLessThan(LIMIT)
    const response = await postJson('/items', payload)
    expect(response.statusCode).toBe(400)
    expect(response.json().error.code).toMatch(/^E_(VALIDATION|MALFORMED_JSON)$/)
    expect(({} as Record<string, unknown>).x).toBeUndefined()
    await expectAlive()
  })

  it('refuses a non-JSON body with 415, whatever its size', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/items',
      payload: 'name=a&category=b&price=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
    expect(response.statusCode).toBe(415)
    expect(response.json().error.code).toBe('E_UNSUPPORTED_MEDIA_TYPE')
  })
})
