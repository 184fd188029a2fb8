/**
 * End-to-end: a listening Fastify server with the response cache on the real multi-tier cache
 * (memory, and memory + Redis), a real HTTP client (undici), compression and the fast lane.
 */
import { randomBytes } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import zlib from 'node:zlib'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { request } from 'undici'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/index.js'
import { redisStore } from '../../../src/cache/stores/redis/index.js'
import type { Cache } from '../../../src/cache/types.js'
import { httpCache } from '../../../src/fastify/http-cache.js'
import { createFastLane } from '../../../src/http/fast-lane.js'
import type { FastLaneHandler } from '../../../src/http/fast-lane.js'
import { FAST_LANE_HIT_CHANNEL } from '../../../src/http/response-cache.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'

interface Server {
  app: FastifyInstance
  cache: Cache
  base: string
  calls: { item: number; put: number }
  items: Map<string, { id: string; name: string; version: number; notes: string }>
}

const NOTES = 'The quick brown fox jumps over the lazy dog. '.repeat(60)
const open: Server[] = []

async function start(cache: Cache, fastLane: boolean): Promise<Server> {
  const app = Fastify()
  await app.register(httpCache, {
    cache,
    fastLane,
    getUser: (req) => req.headers.authorization?.replace(/^Bearer /, ''),
  })
  const calls = { item: 0, put: 0 }
  const items = new Map([['1', { id: '1', name: 'one', version: 1, notes: NOTES }]])
  app.get<{ Params: { id: string } }>(
    '/items/:id',
    {
      config: {
        httpCache: {
          policy: { scope: 'public', maxAge: '5m' },
          tags: ['items'],
          query: { allow: ['lang'] },
          etag: (req) => items.get((req.params as { id: string }).id)?.version,
        },
      },
    },
    async (req, reply) => {
      calls.item++
      const item = items.get(req.params.id)
      return item ?? reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: 'no such item' } })
    },
  )
  app.put<{ Params: { id: string }; Body: { name: string } }>(
    '/items/:id',
    {
      config: {
        httpCache: {
          requirePrecondition: true,
          etag: (req) => items.get((req.params as { id: string }).id)?.version,
        },
      },
    },
    async (req) => {
      calls.put++
      const item = items.get(req.params.id)!
      const next = { ...item, name: req.body.name, version: item.version + 1 }
      items.set(item.id, next)
      return next
    },
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const server = { app, cache, base: `http://127.0.0.1:${port}`, calls, items }
  open.push(server)
  return server
}

afterEach(async () => {
  for (const s of open.splice(0)) {
    await s.app.close()
    await s.cache.close()
  }
})

async function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const res = await request(url, { method, headers })
  const raw = Buffer.from(await res.body.arrayBuffer())
  const encoding = res.headers['content-encoding']
  const body =
    encoding === 'gzip' ? zlib.gunzipSync(raw) : encoding === 'br' ? zlib.brotliDecompressSync(raw) : raw
  return { status: res.statusCode, headers: res.headers, raw, text: body.toString() }
}

/** Each test gets its own cache space: `isolated()` returns a factory of caches sharing one space. */
function suite(label: string, isolated: () => () => Cache) {
  describe(label, () => {
    it('serves compressed hits from the fast lane without running the handler', async () => {
      const s = await start(isolated()(), true)
      const seen: unknown[] = []
      const onHit = (message: unknown) => seen.push(message)
      diagnostics.subscribe(FAST_LANE_HIT_CHANNEL, onHit)
      try {
        const miss = await get(`${s.base}/items/1`, { 'accept-encoding': 'gzip' })
        expect(miss.status).toBe(200)
        expect(miss.headers['x-cache']).toBe('miss')
        expect(miss.headers['content-encoding']).toBe('gzip')
        expect(JSON.parse(miss.text)).toMatchObject({ id: '1', notes: NOTES })

        const gz = await get(`${s.base}/items/1`, { 'accept-encoding': 'gzip' })
        expect(gz.headers['x-cache']).toMatch(/^hit-l[12]$/)
        expect(gz.text).toBe(miss.text)
        expect(gz.headers.etag).toBe(miss.headers.etag)
        expect(Number(gz.headers['content-length'])).toBe(gz.raw.length)

        const br = await get(`${s.base}/items/1`, { 'accept-encoding': 'br, gzip' })
        expect(br.headers['content-encoding']).toBe('br')
        expect(br.text).toBe(miss.text)
        expect(br.headers.etag).not.toBe(gz.headers.etag)

        const identity = await get(`${s.base}/items/1`)
        expect(identity.headers['content-encoding']).toBeUndefined()
        expect(identity.text).toBe(miss.text)
        expect(identity.headers.vary).toBe('Accept-Encoding')

        const notModified = await get(`${s.base}/items/1`, {
          'accept-encoding': 'gzip',
          'if-none-match': gz.headers.etag as string,
        })
        expect(notModified.status).toBe(304)
        expect(notModified.raw.length).toBe(0)
        expect(notModified.headers.etag).toBe(gz.headers.etag)
        expect(notModified.headers['cache-control']).toMatch(/^public, max-age=\d+$/)
        expect(notModified.headers.date).toBeDefined()

        const head = await get(`${s.base}/items/1`, {}, 'HEAD')
        expect(head.status).toBe(200)
        expect(head.raw.length).toBe(0)
        expect(Number(head.headers['content-length'])).toBe(identity.raw.length)

        expect(s.calls.item).toBe(1)
        expect(s.app.httpCache.stats().fastLaneHits).toBe(5)
        expect(seen).toHaveLength(5)
      } finally {
        diagnostics.unsubscribe(FAST_LANE_HIT_CHANNEL, onHit)
      }
    })

    it('lets credentialed, rejected and unknown requests fall through to Fastify unchanged', async () => {
      const s = await start(isolated()(), true)
      await get(`${s.base}/items/1`)
      await get(`${s.base}/items/1`)
      const lane = s.app.httpCache.stats().fastLaneHits
      expect(lane).toBe(1)

      const alice = await get(`${s.base}/items/1`, { authorization: 'Bearer alice' })
      expect(alice.status).toBe(200)
      expect(alice.headers['cache-control']).toBe('private, max-age=300')
      const rejected = await get(`${s.base}/items/1?debug=1`)
      expect(rejected.status).toBe(400)
      expect(JSON.parse(rejected.text)).toMatchObject({ error: { code: 'E_HTTP_UNKNOWN_QUERY_PARAM' } })
      const missing = await get(`${s.base}/items/2`)
      expect(missing.status).toBe(404)
      expect(s.app.httpCache.stats().fastLaneHits).toBe(lane)
      expect(s.calls.item).toBe(3)
    })

    it('GET and PUT share entity ETags: If-Match with the (gzip) ETag read succeeds once, then 412', async () => {
      const s = await start(isolated()(), true)
      const before = await get(`${s.base}/items/1`, { 'accept-encoding': 'gzip' })
      expect(before.headers.etag).toBe('"1-gz"')
      const put = (etag: string | undefined) =>
        request(`${s.base}/items/1`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', ...(etag ? { 'if-match': etag } : {}) },
          body: JSON.stringify({ name: 'renamed' }),
        })
      const first = await put(before.headers.etag as string)
      expect(first.statusCode).toBe(200)
      await first.body.dump()
      const lost = await put(before.headers.etag as string)
      expect(lost.statusCode).toBe(412)
      expect(await lost.body.json()).toMatchObject({ error: { code: 'E_HTTP_PRECONDITION_FAILED' } })
      const unconditional = await put(undefined)
      expect(unconditional.statusCode).toBe(428)
      await unconditional.body.dump()
      const after = await get(`${s.base}/items/1`)
      expect(after.headers['x-cache']).toBe('miss')
      expect(after.headers.etag).toBe('"2"')
      expect(JSON.parse(after.text)).toMatchObject({ name: 'renamed' })
      expect(s.calls).toEqual({ item: 2, put: 1 })
    })
  })
}

suite('memory cache', () => () => createCache({ ttlJitter: 0 }))

describe('createFastLane in a serverFactory', () => {
  it('answers stored public responses before Fastify and falls through for the rest', async () => {
    const installed: { lane?: FastLaneHandler } = {}
    const cache = createCache({ ttlJitter: 0 })
    const app = Fastify({
      serverFactory: (handler) =>
        http.createServer((req, res) => {
          const lane = installed.lane
          if (!lane) return handler(req, res)
          void Promise.resolve(lane(req, res)).then((served) => {
            if (!served) handler(req, res)
          })
        }),
    })
    await app.register(httpCache, { cache })
    let calls = 0
    app.get('/hello', { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' } } } }, async () => ({
      hello: ++calls,
    }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    open.push({ app, cache, base: '', calls: { item: 0, put: 0 }, items: new Map() })
    installed.lane = createFastLane(app.httpCache.responses!)
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const first = await get(`${base}/hello`)
    expect(JSON.parse(first.text)).toEqual({ hello: 1 })
    const second = await get(`${base}/hello`)
    expect(JSON.parse(second.text)).toEqual({ hello: 1 })
    expect(second.headers['x-cache']).toBe('hit-l1')
    expect(app.httpCache.stats().fastLaneHits).toBe(1)
    const credentialed = await get(`${base}/hello`, { cookie: 'sid=1' })
    expect(JSON.parse(credentialed.text)).toEqual({ hello: 2 })
    expect(app.httpCache.stats().fastLaneHits).toBe(1)
    expect(calls).toBe(2)
  })
})

describe.runIf(hasRedis)('memory + Redis cache', () => {
  const prefixes: string[] = []
  const isolated = () => {
    const prefix = `test-http-${randomBytes(4).toString('hex')}`
    prefixes.push(prefix)
    return () => createCache({ ttlJitter: 0, prefix, l2: redisStore({ url: REDIS_URL }) })
  }
  suite('shared', isolated)

  afterAll(async () => {
    for (const prefix of prefixes) {
      const cleanup = createCache({ prefix, l2: redisStore({ url: REDIS_URL }) })
      await cleanup.clear()
      await cleanup.close()
    }
  })

  it('a second instance answers from L2 what the first stored', async () => {
    const makeCache = isolated()
    const a = await start(makeCache(), false)
    const b = await start(makeCache(), true)
    await get(`${a.base}/items/1?lang=en`, { 'accept-encoding': 'gzip' })
    const fromB = await get(`${b.base}/items/1?lang=en`, { 'accept-encoding': 'gzip' })
    expect(fromB.headers['x-cache']).toBe('hit-l2')
    expect(JSON.parse(fromB.text)).toMatchObject({ id: '1' })
    expect(b.calls.item).toBe(0)
    // The L2 hit taught instance B the route, so its fast lane now serves the entry.
    const again = await get(`${b.base}/items/1?lang=en`, { 'accept-encoding': 'gzip' })
    expect(again.headers['x-cache']).toMatch(/^hit-l[12]$/)
    expect(b.app.httpCache.stats().fastLaneHits).toBe(1)
    // A purge on one instance reaches the other.
    await a.app.httpCache.invalidateTags(['items'])
    await expect
      .poll(async () => (await get(`${b.base}/items/1?lang=en`)).headers['x-cache'], { timeout: 5_000 })
      .toBe('miss')
  })
})
