import zlib from 'node:zlib'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { unpack } from 'msgpackr'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { httpCache } from '../../../src/fastify/http-cache.js'
import type { HttpCacheOptions } from '../../../src/fastify/http-cache.js'
import type { Cache } from '../../../src/cache/types.js'
import { createCache } from '../../../src/cache/index.js'
import { createTestCache } from './helpers/test-cache.js'

interface Item {
  id: string
  name: string
  version: number
  notes: string
}

interface Harness {
  app: FastifyInstance
  cache: Cache
  calls: Record<string, number>
  items: Map<string, Item>
}

const LONG = 'lorem ipsum dolor sit amet '.repeat(80)

// The suite runs against the test double and against the real multi-tier cache (memory tier).
const CACHES: [string, () => Cache][] = [
  ['test cache', () => createTestCache()],
  ['createCache (memory)', () => createCache({ ttlJitter: 0 })],
]
let makeCache: () => Cache = CACHES[0]![1]

async function build(options: Partial<HttpCacheOptions> = {}, withCache = true): Promise<Harness> {
  const cache = makeCache()
  const app = Fastify()
  await app.register(httpCache, {
    ...(withCache ? { cache } : {}),
    getUser: (req) => (req.headers['x-user'] as string | undefined) ?? undefined,
    ...options,
  })
  const calls: Record<string, number> = {}
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1)
  const items = new Map<string, Item>([
    ['1', { id: '1', name: 'one', version: 1, notes: LONG }],
    ['2', { id: '2', name: 'two', version: 1, notes: LONG }],
  ])
  const itemVersion = (req: { params: unknown }) => items.get((req.params as { id: string }).id)?.version

  app.get<{ Params: { id: string } }>(
    '/items/:id',
    {
      config: {
        httpCache: {
          policy: { scope: 'public', maxAge: '1m', staleWhileRevalidate: '30s' },
          tags: ['items'],
          query: { allow: ['fields', 'lang'], unknown: 'reject' },
          negotiate: true,
        },
      },
    },
    async (req, reply) => {
      count('item')
      const item = items.get(req.params.id)
      if (!item) return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: 'no such item' } })
      reply.header('content-location', `/items/${item.id}`)
      reply.header('expires', new Date(Date.now() + 60_000).toUTCString())
      return item
    },
  )
  app.put<{ Params: { id: string }; Body: { name: string } }>(
    '/items/:id',
    { config: { httpCache: { requirePrecondition: true, etag: itemVersion } } },
    async (req) => {
      count('put')
      const item = items.get(req.params.id)!
      const next = { ...item, name: req.body.name, version: item.version + 1 }
      items.set(item.id, next)
      return next
    },
  )
  app.post<{ Params: { id: string } }>(
    '/items/:id',
    { config: { httpCache: { etag: itemVersion } } },
    async (req) => {
      count('post')
      return { touched: req.params.id }
    },
  )
  app.get(
    '/versioned/:id',
    { config: { httpCache: { policy: { scope: 'public', maxAge: 10 }, store: false, etag: itemVersion } } },
    async (req, reply) => {
      count('versioned')
      const item = items.get((req.params as { id: string }).id)
      return item ?? reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: 'no such item' } })
    },
  )
  app.get(
    '/uncached',
    { config: { httpCache: { policy: { scope: 'public', noCache: true } } } },
    async () => {
      count('uncached')
      return { hello: 'world', notes: LONG }
    },
  )
  app.get(
    '/cookie',
    { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' } } } },
    async (_req, reply) => {
      count('cookie')
      reply.header('set-cookie', 'session=abc; HttpOnly')
      return { ok: true }
    },
  )
  app.get(
    '/error',
    { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' } } } },
    async (_req, reply) => {
      count('error')
      return reply.code(500).send({ error: { code: 'E_BOOM', message: 'boom' } })
    },
  )
  app.get(
    '/modified',
    { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' } } } },
    async (_req, reply) => {
      count('modified')
      reply.header('last-modified', 'Wed, 10 Jan 2024 12:00:00 GMT')
      return { ok: true }
    },
  )
  await app.ready()
  return { app, cache, calls, items }
}

let harness: Harness | undefined
afterEach(async () => {
  vi.useRealTimers()
  await harness?.app.close()
  await harness?.cache.close()
  harness = undefined
})

async function setup(options: Partial<HttpCacheOptions> = {}, withCache = true): Promise<Harness> {
  harness = await build(options, withCache)
  return harness
}

describe.each(CACHES)('response cache through app.inject() — %s', (_name, factory) => {
  beforeEach(() => {
    makeCache = factory
  })

  it('stores on a miss and serves the hit without running the handler', async () => {
    const { app, calls } = await setup()
    const miss = await app.inject('/items/1')
    expect(miss.statusCode).toBe(200)
    expect(miss.headers['x-cache']).toBe('miss')
    expect(miss.headers.etag).toMatch(/^"[^"]+"$/)
    expect(miss.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=30')
    expect(miss.headers.vary).toBe('Accept, Accept-Encoding')
    expect(miss.headers['surrogate-key']).toBe('items')
    const hit = await app.inject('/items/1')
    expect(hit.statusCode).toBe(200)
    expect(hit.headers['x-cache']).toBe('hit-l1')
    expect(hit.body).toBe(miss.body)
    expect(hit.headers.etag).toBe(miss.headers.etag)
    expect(hit.headers['content-type']).toBe(miss.headers['content-type'])
    expect(hit.headers['content-location']).toBe('/items/1')
    expect(hit.json()).toMatchObject({ id: '1', name: 'one' })
    expect(calls.item).toBe(1)
  })

  it('answers a conditional hit with 304 carrying ETag, Cache-Control, Vary, Content-Location, Date, Expires', async () => {
    const { app, calls } = await setup()
    const first = await app.inject('/items/1')
    const res = await app.inject({
      url: '/items/1',
      headers: { 'if-none-match': first.headers.etag as string },
    })
    expect(res.statusCode).toBe(304)
    expect(res.body).toBe('')
    expect(res.headers.etag).toBe(first.headers.etag)
    expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+, stale-while-revalidate=30$/)
    expect(res.headers.vary).toBe('Accept, Accept-Encoding')
    expect(res.headers['content-location']).toBe('/items/1')
    expect(res.headers.expires).toBe(first.headers.expires)
    expect(res.headers.date).toBeDefined()
    expect(res.headers['content-length']).toBeUndefined()
    expect(calls.item).toBe(1)
  })

  it('answers a conditional miss with 304 too (validators computed at write)', async () => {
    const { app } = await setup()
    const first = await app.inject('/items/1')
    await app.httpCache.invalidateTags(['items'])
    const res = await app.inject({
      url: '/items/1',
      headers: { 'if-none-match': first.headers.etag as string },
    })
    expect(res.statusCode).toBe(304)
    expect(res.headers['x-cache']).toBe('miss')
  })

  it('If-None-Match lists and * (peer bug: lists and * ignored)', async () => {
    const { app } = await setup()
    const etag = (await app.inject('/items/1')).headers.etag as string
    const list = await app.inject({
      url: '/items/1',
      headers: { 'if-none-match': `"nope", ${etag}, "other"` },
    })
    expect(list.statusCode).toBe(304)
    const star = await app.inject({ url: '/items/1', headers: { 'if-none-match': '*' } })
    expect(star.statusCode).toBe(304)
    const weak = await app.inject({ url: '/items/1', headers: { 'if-none-match': `W/${etag}` } })
    expect(weak.statusCode).toBe(304)
    const none = await app.inject({ url: '/items/1', headers: { 'if-none-match': '"nope", "other"' } })
    expect(none.statusCode).toBe(200)
  })

  it('a 404 never becomes a 304 and is never stored (peer bug)', async () => {
    const { app, calls } = await setup()
    for (const inm of ['*', '"anything"']) {
      const res = await app.inject({ url: '/items/404', headers: { 'if-none-match': inm } })
      expect(res.statusCode).toBe(404)
      expect(res.json()).toMatchObject({ error: { code: 'E_NOT_FOUND' } })
      expect(res.headers['cache-control']).toBe('no-store')
      expect(res.headers.etag).toBeUndefined()
    }
    expect(calls.item).toBe(2)
  })

  it('a matching If-None-Match on POST is 412, not 304, and the handler does not run (peer bug)', async () => {
    const { app, calls } = await setup()
    for (const inm of ['"1"', '*']) {
      const res = await app.inject({ method: 'POST', url: '/items/1', headers: { 'if-none-match': inm } })
      expect(res.statusCode).toBe(412)
      expect(res.json()).toMatchObject({ error: { code: 'E_HTTP_PRECONDITION_FAILED' } })
    }
    expect(calls.post).toBeUndefined()
    const ok = await app.inject({ method: 'POST', url: '/items/1', headers: { 'if-none-match': '"0"' } })
    expect(ok.statusCode).toBe(200)
  })

  it('a 304 for one URL never uses another URL’s tag (peer bug)', async () => {
    const { app } = await setup()
    const one = await app.inject('/items/1')
    const two = await app.inject({
      url: '/items/2',
      headers: { 'if-none-match': one.headers.etag as string },
    })
    expect(two.statusCode).toBe(200)
    expect(two.headers.etag).not.toBe(one.headers.etag)
    expect(two.json()).toMatchObject({ id: '2' })
    const twoAgain = await app.inject({
      url: '/items/2',
      headers: { 'if-none-match': one.headers.etag as string },
    })
    expect(twoAgain.statusCode).toBe(200)
  })

  it('gzip, br and identity get distinct strong ETags; INM matches the coding the client holds (peer bug)', async () => {
    const { app } = await setup()
    const identity = await app.inject({ url: '/items/1', headers: { 'accept-encoding': 'identity' } })
    const gzip = await app.inject({ url: '/items/1', headers: { 'accept-encoding': 'gzip' } })
    const br = await app.inject({ url: '/items/1', headers: { 'accept-encoding': 'gzip, br' } })
    expect(gzip.headers['content-encoding']).toBe('gzip')
    expect(br.headers['content-encoding']).toBe('br')
    expect(identity.headers['content-encoding']).toBeUndefined()
    const tags = [identity.headers.etag, gzip.headers.etag, br.headers.etag]
    expect(new Set(tags).size).toBe(3)
    for (const t of tags) expect(t).toMatch(/^"/)
    expect(zlib.gunzipSync(gzip.rawPayload).toString()).toBe(identity.body)
    expect(zlib.brotliDecompressSync(br.rawPayload).toString()).toBe(identity.body)
    expect(Number(gzip.headers['content-length'])).toBe(gzip.rawPayload.length)

    const gzHeld = gzip.headers.etag as string
    const revalidateGzip = await app.inject({
      url: '/items/1',
      headers: { 'accept-encoding': 'gzip, br', 'if-none-match': gzHeld },
    })
    expect(revalidateGzip.statusCode).toBe(304)
    expect(revalidateGzip.headers.etag).toBe(gzHeld)
    const identityNow = await app.inject({
      url: '/items/1',
      headers: { 'accept-encoding': 'identity', 'if-none-match': gzHeld },
    })
    expect(identityNow.statusCode).toBe(200)
    expect(identityNow.headers.etag).toBe(identity.headers.etag)
  })

  it('HEAD works on a miss and a hit: headers and length of the GET, no body', async () => {
    const { app, calls } = await setup()
    const headMiss = await app.inject({ method: 'HEAD', url: '/items/1' })
    expect(headMiss.statusCode).toBe(200)
    expect(headMiss.body).toBe('')
    const get = await app.inject('/items/1')
    const headHit = await app.inject({ method: 'HEAD', url: '/items/1' })
    expect(headHit.statusCode).toBe(200)
    expect(headHit.body).toBe('')
    expect(headHit.headers['x-cache']).toBe('hit-l1')
    expect(headHit.headers.etag).toBe(get.headers.etag)
    expect(headHit.headers['content-length']).toBe(String(Buffer.byteLength(get.body)))
    expect(headMiss.headers.etag).toBe(get.headers.etag)
    const head304 = await app.inject({
      method: 'HEAD',
      url: '/items/1',
      headers: { 'if-none-match': get.headers.etag as string },
    })
    expect(head304.statusCode).toBe(304)
    expect(calls.item).toBe(2)
  })

  it('max-age reflects the remaining freshness of the stored entry', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { app } = await setup()
    await app.inject('/items/1')
    vi.advanceTimersByTime(20_500)
    const hit = await app.inject('/items/1')
    expect(hit.headers['x-cache']).toBe('hit-l1')
    expect(hit.headers['cache-control']).toBe('public, max-age=40, stale-while-revalidate=30')
  })

  it('serves a stale entry within grace and refreshes it in the background', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { app, calls, items } = await setup()
    await app.inject('/items/1')
    items.set('1', { ...items.get('1')!, name: 'renamed' })
    vi.advanceTimersByTime(61_000)
    const stale = await app.inject('/items/1')
    expect(stale.headers['x-cache']).toBe('stale')
    expect(stale.json()).toMatchObject({ name: 'one' })
    vi.useRealTimers()
    await vi.waitFor(() => expect(calls.item).toBe(2))
    await vi.waitFor(async () => {
      const fresh = await app.inject('/items/1')
      expect(fresh.headers['x-cache']).toBe('hit-l1')
      expect(fresh.json()).toMatchObject({ name: 'renamed' })
    })
  })

  it('tags become Surrogate-Key and purge stored responses', async () => {
    const { app, calls } = await setup()
    await app.inject('/items/1')
    await app.inject('/items/2')
    await app.httpCache.invalidateTags(['items'])
    expect((await app.inject('/items/1')).headers['x-cache']).toBe('miss')
    expect((await app.inject('/items/2')).headers['x-cache']).toBe('miss')
    expect(calls.item).toBe(4)
  })

  it('a successful unsafe request invalidates the target URI (RFC 9111 §4.4), a failed one does not', async () => {
    const { app, calls } = await setup()
    const before = await app.inject('/items/1')
    const failed = await app.inject({
      method: 'PUT',
      url: '/items/1',
      payload: { name: 'x' },
      headers: { 'if-match': '"0"' },
    })
    expect(failed.statusCode).toBe(412)
    expect((await app.inject('/items/1')).headers['x-cache']).toBe('hit-l1')
    const put = await app.inject({
      method: 'PUT',
      url: '/items/1',
      payload: { name: 'renamed' },
      headers: { 'if-match': '"1"' },
    })
    expect(put.statusCode).toBe(200)
    const after = await app.inject('/items/1')
    expect(after.headers['x-cache']).toBe('miss')
    expect(after.json()).toMatchObject({ name: 'renamed' })
    expect(after.headers.etag).not.toBe(before.headers.etag)
    expect(calls.item).toBe(2)
  })

  it('optimistic concurrency: 428 without If-Match, 412 on a stale ETag, success on the current one', async () => {
    const { app, calls, items } = await setup()
    const missing = await app.inject({ method: 'PUT', url: '/items/1', payload: { name: 'a' } })
    expect(missing.statusCode).toBe(428)
    expect(missing.json()).toMatchObject({ error: { code: 'E_HTTP_PRECONDITION_REQUIRED' } })
    const stale = await app.inject({
      method: 'PUT',
      url: '/items/1',
      payload: { name: 'a' },
      headers: { 'if-match': '"7"' },
    })
    expect(stale.statusCode).toBe(412)
    expect(stale.json()).toMatchObject({ error: { code: 'E_HTTP_PRECONDITION_FAILED' } })
    expect(calls.put).toBeUndefined()
    const ok = await app.inject({
      method: 'PUT',
      url: '/items/1',
      payload: { name: 'a' },
      headers: { 'if-match': '"1"' },
    })
    expect(ok.statusCode).toBe(200)
    expect(items.get('1')!.version).toBe(2)
    const gzVariant = await app.inject({
      method: 'PUT',
      url: '/items/1',
      payload: { name: 'b' },
      headers: { 'if-match': '"2-gz"' },
    })
    expect(gzVariant.statusCode).toBe(200)
    const weak = await app.inject({
      method: 'PUT',
      url: '/items/1',
      payload: { name: 'c' },
      headers: { 'if-match': 'W/"3"' },
    })
    expect(weak.statusCode).toBe(412)
    const gone = await app.inject({
      method: 'PUT',
      url: '/items/9',
      payload: { name: 'c' },
      headers: { 'if-match': '*' },
    })
    expect(gone.statusCode).toBe(412)
  })

  it('Set-Cookie responses are never stored and are marked private', async () => {
    const { app, calls } = await setup()
    const a = await app.inject('/cookie')
    const b = await app.inject('/cookie')
    expect(a.headers['cache-control']).toBe('private, max-age=60')
    expect(b.headers['x-cache']).toBe('miss')
    expect(calls.cookie).toBe(2)
  })

  it('non-2xx responses are never stored', async () => {
    const { app, calls } = await setup()
    expect((await app.inject('/error')).statusCode).toBe(500)
    expect((await app.inject('/error')).statusCode).toBe(500)
    expect(calls.error).toBe(2)
  })

  it('Last-Modified / If-Modified-Since on a stored response', async () => {
    const { app } = await setup()
    await app.inject('/modified')
    const notModified = await app.inject({
      url: '/modified',
      headers: { 'if-modified-since': 'Wed, 10 Jan 2024 12:00:00 GMT' },
    })
    expect(notModified.statusCode).toBe(304)
    expect(notModified.headers['last-modified']).toBe('Wed, 10 Jan 2024 12:00:00 GMT')
    const modified = await app.inject({
      url: '/modified',
      headers: { 'if-modified-since': 'Tue, 09 Jan 2024 12:00:00 GMT' },
    })
    expect(modified.statusCode).toBe(200)
  })

  it('negotiates msgpack with Vary: Accept, cached separately from JSON', async () => {
    const { app, calls } = await setup()
    const json = await app.inject('/items/1')
    const mp = await app.inject({ url: '/items/1', headers: { accept: 'application/msgpack' } })
    expect(mp.headers['content-type']).toBe('application/msgpack')
    expect(unpack(mp.rawPayload)).toEqual(json.json())
    expect(mp.headers.etag).not.toBe(json.headers.etag)
    expect(mp.headers.vary).toContain('Accept')
    const mpHit = await app.inject({ url: '/items/1', headers: { accept: 'application/msgpack' } })
    expect(mpHit.headers['x-cache']).toBe('hit-l1')
    expect(unpack(mpHit.rawPayload)).toEqual(json.json())
    expect((await app.inject('/items/1')).headers['content-type']).toContain('application/json')
    expect(calls.item).toBe(2)
  })

  it('normalises the query into the key and rejects undeclared parameters with a JSON 400', async () => {
    const { app, calls } = await setup()
    await app.inject('/items/1?lang=en&fields=name')
    const same = await app.inject('/items/1?fields=name&lang=en')
    expect(same.headers['x-cache']).toBe('hit-l1')
    const other = await app.inject('/items/1?fields=id&lang=en')
    expect(other.headers['x-cache']).toBe('miss')
    const bad = await app.inject('/items/1?utm_source=x')
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ error: { code: 'E_HTTP_UNKNOWN_QUERY_PARAM' } })
    expect(bad.json().error.message).toContain('"fields"')
    const malformed = await app.inject('/items/1?fields=%zz')
    expect(malformed.statusCode).toBe(400)
    expect(malformed.json()).toMatchObject({ error: { code: 'E_HTTP_MALFORMED_URL' } })
    expect(calls.item).toBe(2)
  })
})

describe('validators on uncached routes', () => {
  beforeEach(() => {
    makeCache = CACHES[0]![1]
  })

  it('a cache outage never fails a request', async () => {
    const { app, cache, calls } = await setup()
    ;(cache as ReturnType<typeof createTestCache>).fail = true
    const a = await app.inject('/items/1')
    const b = await app.inject('/items/1')
    expect(a.statusCode).toBe(200)
    expect(b.statusCode).toBe(200)
    expect(b.json()).toMatchObject({ id: '1' })
    expect(calls.item).toBe(2)
    expect(app.httpCache.stats().errors).toBeGreaterThan(0)
  })

  it('uses a body hash when there is no entity version: ETag, 304, Vary, compression', async () => {
    const { app, calls } = await setup({}, false)
    const first = await app.inject('/uncached')
    expect(first.headers.etag).toMatch(/^"[^"]+"$/)
    expect(first.headers['cache-control']).toBe('public, no-cache')
    expect(first.headers.vary).toBe('Accept-Encoding')
    expect(first.headers['x-cache']).toBeUndefined()
    const again = await app.inject({
      url: '/uncached',
      headers: { 'if-none-match': first.headers.etag as string },
    })
    expect(again.statusCode).toBe(304)
    expect(again.headers.etag).toBe(first.headers.etag)
    expect(again.headers['cache-control']).toBe('public, no-cache')
    const gz = await app.inject({ url: '/uncached', headers: { 'accept-encoding': 'gzip' } })
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gz.headers.etag).not.toBe(first.headers.etag)
    expect(zlib.gunzipSync(gz.rawPayload).toString()).toBe(first.body)
    expect(calls.uncached).toBe(3)
  })

  it('uses the entity version before the handler runs: a conditional GET costs no handler call', async () => {
    const { app, calls } = await setup()
    const first = await app.inject('/versioned/1')
    expect(first.headers.etag).toBe('"1"')
    const res = await app.inject({ url: '/versioned/1', headers: { 'if-none-match': '"1"' } })
    expect(res.statusCode).toBe(304)
    expect(res.headers.etag).toBe('"1"')
    expect(res.headers['cache-control']).toBe('public, max-age=0')
    expect(calls.versioned).toBe(1)
    const missing = await app.inject({ url: '/versioned/9', headers: { 'if-none-match': '*' } })
    expect(missing.statusCode).toBe(404)
  })
})

describe('registration', () => {
  it('rejects bad plugin options with a TypeError naming the option', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ cache: 42 }, /"cache"/],
      [{ getUser: 'x' }, /"getUser"/],
      [{ unknownQuery: 'drop' }, /"unknownQuery"/],
      [{ fastLane: true }, /"fastLane"/],
      [{ xCache: 'yes' }, /"xCache"/],
      [{ maxBodyBytes: -1, cache: createTestCache() }, /"maxBodyBytes"/],
      [{ ttl: 5 }, /"ttl"/],
      [{ compression: 'gzip' }, /^httpCache: Invalid option "compression": got "gzip", expected a boolean/],
      [
        { maxBodyBytes: 1.5, cache: createTestCache() },
        /^httpCache: Invalid option "maxBodyBytes": got 1\.5, expected a non-negative integer\.$/,
      ],
    ]
    for (const [options, pattern] of bad) {
      const app = Fastify()
      await expect(app.register(httpCache, options as HttpCacheOptions).ready()).rejects.toThrow(TypeError)
      const again = Fastify()
      await expect(again.register(httpCache, options as HttpCacheOptions).ready()).rejects.toThrow(pattern)
    }
  })

  it('rejects bad route configuration at registration, naming the route and option', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ policy: { maxAge: '1 year' } }, /GET \/r\.policy\.maxAge/],
      [{ policy: { scope: 'shared' } }, /policy\.scope/],
      [{ vary: 'accept' }, /\.vary/],
      [{ vary: ['*'] }, /\.vary/],
      [{ query: { unknown: 'drop' } }, /query\.unknown/],
      [{ private: 'maybe' }, /\.private/],
      [{ etag: 'v1' }, /\.etag/],
      [{ policy: { scope: 'public' }, store: true }, /\.store/],
      [{ polcy: {} }, /\.polcy/],
    ]
    for (const [config, pattern] of cases) {
      const app = Fastify()
      await app.register(httpCache, { cache: createTestCache() })
      let error: unknown
      try {
        app.get('/r', { config: { httpCache: config as never } }, async () => 'x')
        await app.ready()
      } catch (e) {
        error = e
      }
      expect(error, JSON.stringify(config)).toBeInstanceOf(TypeError)
      expect(String((error as Error).message)).toMatch(pattern)
      await app.close()
    }
  })
})
