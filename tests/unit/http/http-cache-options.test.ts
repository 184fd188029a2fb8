import { Readable } from 'node:stream'
import { Type } from '@sinclair/typebox'
import Fastify from 'fastify'
import { describe, expect, it, vi } from 'vitest'
import { InvalidOptionError } from '../../../src/errors.js'
import { httpCache } from '../../../src/fastify/http-cache.js'
import { ResponseCache } from '../../../src/http/response-cache.js'
import { createTestCache } from './helpers/test-cache.js'

describe('route options', () => {
  it('streams get a weak ETag from the entity version and are never stored', async () => {
    const cache = createTestCache()
    const app = Fastify()
    await app.register(httpCache, { cache })
    let calls = 0
    app.get(
      '/export',
      { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' }, etag: () => 7 } } },
      async (_req, reply) => {
        calls++
        reply.type('text/csv')
        return reply.send(Readable.from(['a,b\n', '1,2\n']))
      },
    )
    const res = await app.inject('/export')
    expect(res.body).toBe('a,b\n1,2\n')
    expect(res.headers.etag).toBe('W/"7"')
    const conditional = await app.inject({ url: '/export', headers: { 'if-none-match': 'W/"7"' } })
    expect(conditional.statusCode).toBe(304)
    await app.inject('/export')
    expect(calls).toBe(2)
    expect(cache.size).toBe(0)
    await app.close()
  })

  it('uncached tagged responses still carry Surrogate-Key for CDNs', async () => {
    const app = Fastify()
    await app.register(httpCache)
    app.get(
      '/news',
      {
        config: {
          httpCache: {
            policy: { scope: 'public', sMaxAge: '1m' },
            tags: (req) => ['news', req.url.slice(1)],
          },
        },
      },
      async () => ({ ok: true }),
    )
    const res = await app.inject('/news')
    expect(res.headers['surrogate-key']).toBe('news news')
    expect(res.headers['cache-control']).toBe('public, s-maxage=60')
    await app.close()
  })

  it('private: false shares one public entry between credentialed requests', async () => {
    const app = Fastify()
    await app.register(httpCache, { cache: createTestCache() })
    let calls = 0
    app.get(
      '/catalog',
      { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' }, private: false } } },
      async () => ({ n: ++calls }),
    )
    const a = await app.inject({ url: '/catalog', headers: { cookie: 'analytics=1' } })
    const b = await app.inject({ url: '/catalog', headers: { authorization: 'Bearer x' } })
    expect(a.headers['cache-control']).toBe('public, max-age=60')
    expect(b.headers['x-cache']).toBe('hit-l1')
    expect(b.json()).toEqual({ n: 1 })
    await app.close()
  })

  it('declared vary headers split entries; query rules default to the querystring schema', async () => {
    const app = Fastify()
    await app.register(httpCache, { cache: createTestCache(), unknownQuery: 'ignore' })
    let calls = 0
    app.get(
      '/greeting',
      {
        schema: { querystring: Type.Object({ name: Type.Optional(Type.String()) }) },
        config: { httpCache: { policy: { scope: 'public', maxAge: '1m' }, vary: ['Accept-Language'] } },
      },
      async (req) => {
        calls++
        const lang = req.headers['accept-language'] === 'fr' ? 'bonjour' : 'hello'
        return { text: `${lang} ${(req.query as { name?: string }).name ?? ''}` }
      },
    )
    const en = await app.inject({ url: '/greeting?name=ann&utm=1', headers: { 'accept-language': 'en' } })
    const fr = await app.inject({ url: '/greeting?name=ann', headers: { 'accept-language': 'fr' } })
    expect(en.json().text).toBe('hello ann')
    expect(fr.json().text).toBe('bonjour ann')
    expect(fr.headers.vary).toBe('Accept-Language, Accept-Encoding')
    const enAgain = await app.inject({ url: '/greeting?name=ann', headers: { 'accept-language': 'en' } })
    expect(enAgain.headers['x-cache']).toBe('hit-l1')
    expect(enAgain.json().text).toBe('hello ann')
    const bob = await app.inject({ url: '/greeting?name=bob', headers: { 'accept-language': 'en' } })
    expect(bob.json().text).toBe('hello bob')
    expect(calls).toBe(3)
    await app.close()
  })

  it('a background refresh never carries the unkeyed headers of the request that triggered it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const app = Fastify()
      await app.register(httpCache, { cache: createTestCache() })
      let calls = 0
      app.get(
        '/home',
        { config: { httpCache: { policy: { scope: 'public', maxAge: '1s', staleWhileRevalidate: '1m' } } } },
        async (req) => ({ n: ++calls, host: req.headers['x-forwarded-host'] ?? 'example.com' }),
      )
      await app.inject('/home')
      vi.advanceTimersByTime(2_000)
      const stale = await app.inject({ url: '/home', headers: { 'x-forwarded-host': 'evil.example' } })
      expect(stale.headers['x-cache']).toBe('stale')
      expect(stale.json()).toEqual({ n: 1, host: 'example.com' })
      vi.useRealTimers()
      await vi.waitFor(async () => {
        const fresh = await app.inject('/home')
        expect(fresh.headers['x-cache']).toBe('hit-l1')
        expect(fresh.json()).toEqual({ n: 2, host: 'example.com' })
      })
      await app.close()
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('unkeyed headers behind a proxy', () => {
  it('warns once that such misses are not stored, and unkeyedHeaders: [] trusts the proxy', async () => {
    const logs: string[] = []
    const build = async (unkeyedHeaders?: string[]) => {
      const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => logs.push(line) } } })
      await app.register(httpCache, {
        cache: createTestCache(),
        ...(unkeyedHeaders ? { unkeyedHeaders } : {}),
      })
      let calls = 0
      app.get('/p', { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' } } } }, async () => ({
        n: ++calls,
      }))
      return app
    }
    const strict = await build()
    for (let i = 0; i < 3; i++) await strict.inject({ url: '/p', headers: { 'x-forwarded-host': 'proxy' } })
    expect((await strict.inject({ url: '/p', headers: { 'x-forwarded-host': 'proxy' } })).json()).toEqual({
      n: 4,
    })
    expect(logs.filter((l) => l.includes('x-forwarded-host'))).toHaveLength(1)
    await strict.close()

    const trusting = await build([])
    await trusting.inject({ url: '/p', headers: { 'x-forwarded-host': 'proxy' } })
    const hit = await trusting.inject({ url: '/p', headers: { 'x-forwarded-host': 'proxy' } })
    expect(hit.headers['x-cache']).toBe('hit-l1')
    expect(hit.json()).toEqual({ n: 1 })
    await trusting.close()
  })
})

describe('ResponseCache', () => {
  it('keeps short keys readable and hashes long ones', () => {
    const responses = new ResponseCache(createTestCache())
    const short = responses.keyFor({ method: 'GET', url: '/items/1', vary: '', format: 'json' })
    expect(short).toContain('/items/1')
    const long = responses.keyFor({
      method: 'GET',
      url: `/search?q=${'x'.repeat(500)}`,
      vary: '',
      format: 'json',
    })
    expect(long.length).toBeLessThan(60)
    const user = responses.keyFor({ method: 'GET', url: '/me', vary: '', format: 'json', user: 'a b' })
    expect(user).not.toBe(
      responses.keyFor({ method: 'GET', url: '/me', vary: '', format: 'json', user: 'a' }),
    )
  })

  it('validates its options', () => {
    expect(() => new ResponseCache(createTestCache(), { maxBodyBytes: 1.5 })).toThrow(InvalidOptionError)
    expect(() => new ResponseCache(createTestCache(), { namespace: '' })).toThrow(/namespace/)
    expect(() => new ResponseCache(createTestCache(), { unkeyedHeaders: 'x' as never })).toThrow(
      /unkeyedHeaders/,
    )
    expect(() => new ResponseCache(createTestCache(), { compression: 'gzip' as never })).toThrow(
      /compression/,
    )
  })
})
