import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { httpCache } from '../../../src/fastify/http-cache.js'
import { createTestCache } from './helpers/test-cache.js'
import type { TestCache } from './helpers/test-cache.js'

interface Harness {
  app: FastifyInstance
  cache: TestCache
  calls: Record<string, number>
}

let harness: Harness | undefined
afterEach(async () => {
  await harness?.app.close()
  harness = undefined
})

// Users are identified by their bearer token; a real app would verify it in an onRequest hook.
const userOf = (auth: string | undefined) => (auth?.startsWith('Bearer ') ? auth.slice(7) : undefined)

async function setup(maxItems = 10_000): Promise<Harness> {
  const cache = createTestCache({ maxItems })
  const app = Fastify()
  await app.register(httpCache, { cache, getUser: (req) => userOf(req.headers.authorization) })
  const calls: Record<string, number> = {}
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1)

  app.get(
    '/me/balance',
    { config: { httpCache: { policy: { scope: 'private', noCache: true }, ttl: '1m' } } },
    async (req) => {
      count('balance')
      return { user: userOf(req.headers.authorization) ?? 'anonymous', balance: 100 }
    },
  )
  // A public route that renders absolute links from forwarded headers: the classic poisoning target.
  app.get('/page', { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' } } } }, async (req) => {
    count('page')
    const host = req.headers['x-forwarded-host'] ?? 'example.com'
    const scheme = req.headers['x-forwarded-scheme'] ?? 'https'
    const original = req.headers['x-original-url'] ?? req.url
    const method = req.headers['x-http-method-override'] ?? req.method
    return { link: `${scheme}://${host}${original}`, method }
  })
  app.get(
    '/me/*',
    { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' }, query: { unknown: 'ignore' } } } },
    async (req) => {
      count('wildcard')
      return { secret: userOf(req.headers.authorization) ?? 'none', path: req.url }
    },
  )
  app.get(
    '/search',
    {
      config: {
        httpCache: { policy: { scope: 'public', maxAge: '1m' }, query: { allow: ['q'], unknown: 'ignore' } },
      },
    },
    async (req) => {
      count('search')
      return { q: (req.query as { q?: string }).q ?? '' }
    },
  )
  app.get(
    '/strict',
    { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' }, query: { allow: ['q'] } } } },
    async () => {
      count('strict')
      return { ok: true }
    },
  )
  app.get(
    '/profile',
    { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' } } } },
    async (req) => {
      count('profile')
      return { viewer: userOf(req.headers.authorization) ?? 'anonymous' }
    },
  )
  await app.ready()
  harness = { app, cache, calls }
  return harness
}

describe('private responses', () => {
  it('user B never receives user A’s body, ETag or 304', async () => {
    const { app, calls } = await setup()
    const a = await app.inject({ url: '/me/balance', headers: { authorization: 'Bearer alice' } })
    expect(a.json()).toEqual({ user: 'alice', balance: 100 })
    expect(a.headers['cache-control']).toBe('private, no-cache')
    const aHit = await app.inject({ url: '/me/balance', headers: { authorization: 'Bearer alice' } })
    expect(aHit.headers['x-cache']).toBe('hit-l1')

    const b = await app.inject({ url: '/me/balance', headers: { authorization: 'Bearer bob' } })
    expect(b.json()).toEqual({ user: 'bob', balance: 100 })
    expect(b.headers['x-cache']).toBe('miss')
    expect(b.headers.etag).not.toBe(a.headers.etag)
    const bWithA = await app.inject({
      url: '/me/balance',
      headers: { authorization: 'Bearer bob', 'if-none-match': a.headers.etag as string },
    })
    expect(bWithA.statusCode).toBe(200)
    expect(bWithA.json()).toEqual({ user: 'bob', balance: 100 })
    expect(calls.balance).toBe(2)
  })

  it('a private route is never stored for a request without a user', async () => {
    const { app, calls, cache } = await setup()
    await app.inject('/me/balance')
    await app.inject('/me/balance')
    expect(calls.balance).toBe(2)
    expect(cache.size).toBe(0)
  })

  it('credentials on a public route make the response private and keyed by user', async () => {
    const { app, calls } = await setup()
    const anon = await app.inject('/profile')
    expect(anon.headers['cache-control']).toBe('public, max-age=60')
    const alice = await app.inject({ url: '/profile', headers: { authorization: 'Bearer alice' } })
    expect(alice.json()).toEqual({ viewer: 'alice' })
    expect(alice.headers['cache-control']).toBe('private, max-age=60')
    const bob = await app.inject({ url: '/profile', headers: { authorization: 'Bearer bob' } })
    expect(bob.json()).toEqual({ viewer: 'bob' })
    const cookie = await app.inject({ url: '/profile', headers: { cookie: 'sid=1' } })
    expect(cookie.json()).toEqual({ viewer: 'anonymous' })
    expect(cookie.headers['cache-control']).toBe('private, max-age=60')
    expect(cookie.headers['x-cache']).toBeUndefined()
    expect((await app.inject('/profile')).headers['x-cache']).toBe('hit-l1')
    expect(calls.profile).toBe(4)
  })
})

describe('unkeyed headers cannot change a stored public response', () => {
  it.each([
    ['x-forwarded-host', 'evil.example'],
    ['x-forwarded-scheme', 'http'],
    ['x-original-url', '/admin'],
    ['x-http-method-override', 'DELETE'],
  ])('%s', async (header, value) => {
    const { app, calls, cache } = await setup()
    // Arriving first on a cold cache, the attack is answered but not stored.
    const attack = await app.inject({ url: '/page', headers: { [header]: value } })
    expect(attack.statusCode).toBe(200)
    expect(cache.size).toBe(0)
    const clean = await app.inject('/page')
    expect(clean.json()).toEqual({ link: 'https://example.com/page', method: 'GET' })
    const again = await app.inject({ url: '/page', headers: { [header]: value } })
    expect(again.headers['x-cache']).toBe('hit-l1')
    expect(again.json()).toEqual({ link: 'https://example.com/page', method: 'GET' })
    expect((await app.inject('/page')).json()).toEqual({ link: 'https://example.com/page', method: 'GET' })
    expect(calls.page).toBe(2)
  })
})

describe('cache deception', () => {
  it.each([
    '/me/balance/x.css',
    '/me/balance;.js',
    '/me/balance%2F..%2Fx',
    '/me/balance%23x',
    '/me/balance/app.js',
  ])('%s is answered with no-store and never stored', async (url) => {
    const { app, calls, cache } = await setup()
    const first = await app.inject({ url, headers: { authorization: 'Bearer alice' } })
    expect(first.headers['cache-control']).toBe('no-store')
    const anonymous = await app.inject(url)
    expect(anonymous.body).not.toContain('alice')
    expect(anonymous.headers['x-cache']).toBeUndefined()
    expect(cache.size).toBe(0)
    expect(calls.wildcard).toBe(2)
  })
})

describe('bounds', () => {
  it('ignored parameters do not create entries', async () => {
    const { app, cache, calls } = await setup()
    for (let i = 0; i < 200; i++) await app.inject(`/search?q=a&cb=${i}`)
    expect(cache.size).toBe(1)
    expect(calls.search).toBe(1)
  })

  it('rejected parameters never reach the handler or the cache', async () => {
    const { app, cache, calls } = await setup()
    for (let i = 0; i < 50; i++) expect((await app.inject(`/strict?cb=${i}`)).statusCode).toBe(400)
    expect(cache.size).toBe(0)
    expect(calls.strict).toBeUndefined()
  })

  it('a flood of distinct declared values stays within the cache bound', async () => {
    const { app, cache } = await setup(50)
    for (let i = 0; i < 300; i++) await app.inject(`/search?q=${i}`)
    expect(cache.size).toBeLessThanOrEqual(50)
    expect((await app.inject('/search?q=299')).headers['x-cache']).toBe('hit-l1')
  })

  it('bodies above maxBodyBytes are answered but not stored', async () => {
    const cache = createTestCache()
    const app = Fastify()
    await app.register(httpCache, { cache, maxBodyBytes: 100 })
    app.get('/big', { config: { httpCache: { policy: { scope: 'public', maxAge: 60_000 } } } }, async () => ({
      data: 'x'.repeat(500),
    }))
    const res = await app.inject('/big')
    expect(res.statusCode).toBe(200)
    expect(res.json().data).toHaveLength(500)
    expect(cache.size).toBe(0)
    await app.close()
  })
})
