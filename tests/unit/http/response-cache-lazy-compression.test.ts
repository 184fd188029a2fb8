/**
 * Stored responses are compressed once per entry and coding, when a request first accepts the
 * coding (small bodies), or once on the libuv pool when stored (large ones); never per request,
 * and never for a coding no client asked for.
 */
import zlib from 'node:zlib'
import Fastify from 'fastify'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCache } from '../../../src/cache/index.js'
import { httpCache } from '../../../src/fastify/http-cache.js'
import { resolveCacheControlPolicy } from '../../../src/http/cache-control.js'
import { etagForCoding } from '../../../src/http/etag.js'
import { ResponseCache } from '../../../src/http/response-cache.js'
import type { StoreInput } from '../../../src/http/response-cache.js'
import { answerFromStored, rawAnswerFromStored } from '../../../src/http/stored-response.js'

const JSON_BODY = Buffer.from(
  JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ id: i, name: `item ${i}` }))),
)

function input(body: Buffer, contentType = 'application/json'): StoreInput {
  return {
    status: 200,
    headers: [['content-type', contentType]],
    body,
    contentType,
    etag: '"v1"',
    lastModified: undefined,
    policy: resolveCacheControlPolicy({ scope: 'public', maxAge: '1m' }),
    private: false,
    public: true,
    vary: 'accept-encoding',
    tags: [],
    path: '/items',
    ttl: 60_000,
    grace: 0,
  }
}

async function storeAndRead(body: Buffer, contentType?: string) {
  const cache = createCache({ ttlJitter: 0 })
  const responses = new ResponseCache(cache)
  const key = responses.keyFor({ method: 'GET', url: '/items', vary: '', format: 'json' })
  await responses.store(key, input(body, contentType))
  const hit = responses.peek(key)
  if (!hit) throw new Error('expected a stored entry')
  const answer = (acceptEncoding: string | undefined, headers: Record<string, string> = {}) =>
    answerFromStored(
      hit.stored,
      hit.entry.etag,
      hit.entry.createdAt,
      { method: 'GET', headers: { 'accept-encoding': acceptEncoding, ...headers } },
      Date.now(),
      'hit-l1',
    )
  return { cache, hit, answer }
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('lazy compression of stored responses', () => {
  it('stores no compressed variant; the first br request compresses, a second reuses it', async () => {
    const br = vi.spyOn(zlib, 'brotliCompressSync')
    const gzip = vi.spyOn(zlib, 'gzipSync')
    const { cache, hit, answer } = await storeAndRead(JSON_BODY)
    expect(hit.stored.br).toBeUndefined()
    expect(hit.stored.gzip).toBeUndefined()
    expect(hit.stored.compress).toBeDefined()
    expect(br).not.toHaveBeenCalled()

    const first = answer('br')
    expect(first.headers['content-encoding']).toBe('br')
    expect(first.headers.etag).toBe(etagForCoding('"v1"', 'br'))
    expect(zlib.brotliDecompressSync(first.body!)).toEqual(JSON_BODY)
    expect(br).toHaveBeenCalledTimes(1)

    const second = answer('gzip, deflate, br')
    expect(second.body).toBe(first.body)
    expect(br).toHaveBeenCalledTimes(1)
    // gzip was never asked for: never computed.
    expect(gzip).not.toHaveBeenCalled()

    const gz = answer('gzip')
    expect(zlib.gunzipSync(gz.body!)).toEqual(JSON_BODY)
    expect(gz.headers.etag).toBe(etagForCoding('"v1"', 'gzip'))
    expect(answer('gzip').body).toBe(gz.body)
    expect(gzip).toHaveBeenCalledTimes(1)
    expect(answer(undefined).body).toBe(hit.stored.body)
    await cache.close()
  })

  it('a revalidation matches the lazily compressed variant and answers 304', async () => {
    const br = vi.spyOn(zlib, 'brotliCompressSync')
    const { cache, answer } = await storeAndRead(JSON_BODY)
    for (let i = 0; i < 2; i++) {
      const notModified = answer('br', { 'if-none-match': etagForCoding('"v1"', 'br') })
      expect(notModified.status).toBe(304)
      expect(notModified.headers.etag).toBe(etagForCoding('"v1"', 'br'))
      expect(notModified.body).toBeUndefined()
    }
    // A held br tag means br was worth sending; the variant is built (once) to confirm it.
    expect(br).toHaveBeenCalledTimes(1)
    await cache.close()
  })

  it('never compresses a body below the threshold or of an incompressible type', async () => {
    const br = vi.spyOn(zlib, 'brotliCompressSync')
    const small = await storeAndRead(Buffer.from('{"id":1}'))
    expect(small.hit.stored.compress).toBeUndefined()
    expect(small.answer('br').headers['content-encoding']).toBeUndefined()
    const png = await storeAndRead(Buffer.alloc(4096, 7), 'image/png')
    expect(png.hit.stored.compress).toBeUndefined()
    expect(png.answer('br').body).toBe(png.hit.stored.body)
    expect(br).not.toHaveBeenCalled()
    await small.cache.close()
    await png.cache.close()
  })

  it('tries a coding that saves too little once, then sends the next acceptable one', async () => {
    const br = vi.spyOn(zlib, 'brotliCompressSync')
    const gzip = vi.spyOn(zlib, 'gzipSync')
    const random = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(Math.random() * 256)))
    const { cache, hit, answer } = await storeAndRead(random)
    const first = answer('br, gzip')
    expect(first.headers['content-encoding']).toBeUndefined()
    expect(first.headers.etag).toBe('"v1"')
    expect(first.body).toBe(hit.stored.body)
    expect(answer('br, gzip').body).toBe(hit.stored.body)
    expect(br).toHaveBeenCalledTimes(1)
    expect(gzip).toHaveBeenCalledTimes(1)
    // If-Match compares against the codings actually sent: identity only.
    expect(answer(undefined, { 'if-match': etagForCoding('"v1"', 'br') }).status).toBe(412)
    expect(answer(undefined, { 'if-match': '"v1"' }).status).toBe(200)
    await cache.close()
  })

  it('compresses a large body once, when stored, off the event loop', async () => {
    const large = Buffer.from(JSON.stringify({ notes: 'The quick brown fox. '.repeat(5000) }))
    expect(large.length).toBeGreaterThan(64 * 1024)
    const br = vi.spyOn(zlib, 'brotliCompressSync')
    const { cache, hit, answer } = await storeAndRead(large)
    expect(hit.stored.compress).toBeUndefined()
    expect(zlib.brotliDecompressSync(hit.stored.br!)).toEqual(large)
    expect(zlib.gunzipSync(hit.stored.gzip!)).toEqual(large)
    expect(answer('br').body).toBe(hit.stored.br)
    expect(br).not.toHaveBeenCalled()
    await cache.close()
  })

  it('through the plugin: one compression per coding for a miss and every later hit', async () => {
    const cache = createCache({ ttlJitter: 0 })
    const app = Fastify()
    await app.register(httpCache, { cache })
    app.get(
      '/items',
      { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' } } } },
      async (_request, reply) => reply.type('application/json').send(JSON_BODY),
    )
    const br = vi.spyOn(zlib, 'brotliCompressSync')
    const gzip = vi.spyOn(zlib, 'gzipSync')
    const miss = await app.inject({ url: '/items', headers: { 'accept-encoding': 'br' } })
    expect(miss.headers['x-cache']).toBe('miss')
    expect(miss.headers['content-encoding']).toBe('br')
    expect(zlib.brotliDecompressSync(miss.rawPayload)).toEqual(JSON_BODY)
    for (let i = 0; i < 3; i++) {
      const hit = await app.inject({ url: '/items', headers: { 'accept-encoding': 'br' } })
      expect(hit.headers['x-cache']).toBe('hit-l1')
      expect(hit.headers.etag).toBe(miss.headers.etag)
      expect(hit.rawPayload).toEqual(miss.rawPayload)
    }
    expect(br).toHaveBeenCalledTimes(1)
    expect(gzip).not.toHaveBeenCalled()
    const identity = await app.inject({ url: '/items' })
    expect(identity.headers['content-encoding']).toBeUndefined()
    expect(identity.rawPayload).toEqual(JSON_BODY)
    expect(identity.headers.vary).toBe('Accept-Encoding')
    await app.close()
    await cache.close()
  })
})

describe('rawAnswerFromStored', () => {
  it('returns the same prepared answer for unconditional requests within a second of age', async () => {
    const { cache, hit } = await storeAndRead(JSON_BODY)
    const request = { method: 'GET', headers: { 'accept-encoding': 'gzip' } }
    const at = hit.entry.createdAt
    const a = rawAnswerFromStored(hit.stored, hit.entry.etag, at, request, at + 10, 'hit-l1')
    const b = rawAnswerFromStored(hit.stored, hit.entry.etag, at, request, at + 900, 'hit-l1')
    expect(b).toBe(a)
    expect(a.rawHeaders).toContain('public, max-age=60')
    // One second of age later, max-age counts down; another X-Cache value is another answer.
    const c = rawAnswerFromStored(hit.stored, hit.entry.etag, at, request, at + 1000, 'hit-l1')
    expect(c.rawHeaders).toContain('public, max-age=59')
    expect(c.body).toBe(a.body)
    const d = rawAnswerFromStored(hit.stored, hit.entry.etag, at, request, at + 1000, 'hit-l2')
    expect(d.rawHeaders).toContain('hit-l2')
    // A conditional request is evaluated, never answered from the memo.
    const conditional = rawAnswerFromStored(
      hit.stored,
      hit.entry.etag,
      at,
      {
        method: 'GET',
        headers: { 'accept-encoding': 'gzip', 'if-none-match': etagForCoding('"v1"', 'gzip') },
      },
      at + 1000,
      'hit-l1',
    )
    expect(conditional.status).toBe(304)
    expect(conditional.body).toBeUndefined()
    await cache.close()
  })
})
