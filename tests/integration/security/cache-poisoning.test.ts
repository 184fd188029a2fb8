/**
 * Cache poisoning and web cache deception against the running service with the response cache on
 * (HTTP_CACHE=on) and the data cache on Redis, two instances sharing it. What one client sends
 * (unkeyed headers, cloaked parameters, a GET body, deceptive paths, credentials) never changes
 * what another client is served, and private or cookie-setting responses are never stored.
 */
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenForUser } from '../../../service/src/auth/token.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import {
  dropPrefix,
  redisClient,
  seededDatabase,
  serviceApp,
  SEED,
  uniquePrefix,
  type RedisClient,
  type SeededDatabase,
} from './support.js'

describe.runIf(hasRedis)('cache poisoning (HTTP_CACHE=on, data cache on Redis)', () => {
  let db: SeededDatabase
  let client: RedisClient
  /** The attacker's instance and the victim's instance share Redis. */
  let attacker: ServiceApp
  let victim: ServiceApp
  /** The same service without any cache: the truth. */
  let truth: ServiceApp
  const prefix = uniquePrefix('poison')
  const setCookieCalls = { count: 0 }
  const ownerCalls = { count: 0 }
  const userA = tokenForUser(SEED, 1)
  const userB = tokenForUser(SEED, 2)

  beforeAll(async () => {
    db = await seededDatabase()
    client = await redisClient(REDIS_URL)
    const env = { CACHE: 'on', HTTP_CACHE: 'on', REDIS_URL, CACHE_PREFIX: prefix }
    // Two extra routes with the library defaults, to pin its rules where the service has no
    // such route: one sets a cookie, one does not declare itself user-independent.
    const extraRoutes = (app: ServiceApp) => {
      app.get(
        '/test/cookie',
        { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' }, ttl: 60_000 } } },
        async (_request, reply) => {
          setCookieCalls.count++
          reply.header('set-cookie', `sid=${setCookieCalls.count}; HttpOnly`)
          return { call: setCookieCalls.count }
        },
      )
      app.get(
        '/test/owner',
        { config: { httpCache: { policy: { scope: 'public', maxAge: '1m' }, ttl: 60_000 } } },
        async (request) => {
          ownerCalls.count++
          return { owner: request.headers.authorization ?? request.headers.cookie ?? 'anonymous' }
        },
      )
    }
    attacker = await serviceApp(db, env, { plugins: [extraRoutes] })
    victim = await serviceApp(db, env, { plugins: [extraRoutes] })
    truth = await serviceApp(db, { CACHE: 'off', HTTP_CACHE: 'off' })
  })

  afterAll(async () => {
    await attacker?.close()
    await victim?.close()
    await truth?.close()
    if (client) {
      await dropPrefix(client, prefix)
      await client.close()
    }
    await db?.close()
  })

  const get = (app: ServiceApp, url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers })

  /** Both instances answer `url` like the uncached service, for a client sending nothing special. */
  async function expectClean(url: string) {
    const expected = (await get(truth, url)).json()
    for (const app of [attacker, victim]) {
      const response = await get(app, url)
      expect(response.statusCode, url).toBe(200)
      expect(response.json(), url).toEqual(expected)
    }
  }

  it('ignores unkeyed headers: X-Forwarded-Host, X-Original-URL, X-Rewrite-URL, X-HTTP-Method-Override', async () => {
    const hostile = {
      'x-forwarded-host': 'evil.example',
      'x-forwarded-scheme': 'http',
      'x-forwarded-proto': 'nothttps',
      'x-original-url': '/me/balance',
      'x-rewrite-url': '/items/2',
      'x-http-method-override': 'DELETE',
      'x-method-override': 'PUT',
      host: 'evil.example',
    }
    for (const url of ['/items/1', '/items?page=1&size=5', '/search/items?q=lamp', '/users/1/posts']) {
      const poisoned = await get(attacker, url, hostile)
      expect(poisoned.statusCode, url).toBe(200)
      expect(poisoned.body).not.toContain('evil.example')
      await expectClean(url)
    }
    // The override headers did not delete or replace anything.
    expect((await get(truth, '/items/1')).statusCode).toBe(200)
  })

  it('stores the same representation whatever Accept-Encoding the first client sent', async () => {
    const variants = ['gzip', 'br', 'deflate', 'evil, gzip;q=0', 'identity;q=0, *;q=0', 'x'.repeat(2_000), '']
    for (const [i, encoding] of variants.entries()) {
      const url = `/items/${10 + i}`
      const first = await get(attacker, url, encoding === '' ? {} : { 'accept-encoding': encoding })
      expect(first.statusCode).toBe(200)
      expect(first.headers.vary).toMatch(/accept-encoding/i)
      await expectClean(url)
      const plain = await get(victim, url)
      expect(plain.headers['content-encoding']).toBeUndefined()
    }
  })

  it('serves each client the encoding it asked for, of the same stored body, whoever filled the entry', async () => {
    // Large enough to be compressed (a page of 100 items).
    const url = '/items?page=2&size=100'
    const first = await get(attacker, url, { 'accept-encoding': 'evil, gzip;q=0, br;q=0' })
    expect(first.statusCode).toBe(200)
    expect(first.headers['content-encoding']).toBeUndefined()
    const expected = (await get(truth, url)).json()
    const decode = (response: Awaited<ReturnType<typeof get>>) => {
      const raw = response.rawPayload
      const encoding = response.headers['content-encoding']
      const body =
        encoding === 'gzip' ? zlib.gunzipSync(raw) : encoding === 'br' ? zlib.brotliDecompressSync(raw) : raw
      return JSON.parse(body.toString())
    }
    for (const app of [victim, attacker]) {
      const gzip = await get(app, url, { 'accept-encoding': 'gzip' })
      expect(gzip.headers['content-encoding']).toBe('gzip')
      expect(decode(gzip)).toEqual(expected)
      const br = await get(app, url, { 'accept-encoding': 'br' })
      expect(br.headers['content-encoding']).toBe('br')
      expect(decode(br)).toEqual(expected)
      const plain = await get(app, url)
      expect(plain.headers['content-encoding']).toBeUndefined()
      expect(plain.json()).toEqual(expected)
      expect(plain.headers.vary).toMatch(/accept-encoding/i)
    }
  })

  it('keys cloaked parameters apart: `;`, encoded `&`, duplicates are rejected, not merged', async () => {
    const cloaked = await get(attacker, '/search/items?q=lamp;q=evil')
    expect(cloaked.json().query).toBe('lamp;q=evil')
    const encoded = await get(attacker, '/search/items?q=lamp%26q%3Devil')
    expect(encoded.json().query).toBe('lamp&q=evil')
    const duplicated = await get(attacker, '/search/items?q=evil&q=lamp')
    expect(duplicated.statusCode).toBe(400)
    expect(duplicated.json().error.code).toBe('E_VALIDATION')
    const reordered = await get(attacker, '/items?size=5&page=1&category=books&category=toys')
    expect(reordered.statusCode).toBe(400)
    const undeclared = await get(attacker, '/items/1?cb=1')
    expect(undeclared.statusCode).toBe(400)
    expect(undeclared.json().error.code).toBe('E_HTTP_UNKNOWN_QUERY_PARAM')
    await expectClean('/search/items?q=lamp')
    await expectClean('/items?page=1&size=5&category=books')
    await expectClean('/items/1')
  })

  it('ignores the body of a GET (fat GET): the answer and the stored entry follow the URL', async () => {
    for (const [type, body] of [
      ['application/json', '{"q":"evil","id":2}'],
      ['application/x-www-form-urlencoded', 'q=evil&id=2'],
    ] as const) {
      const fat = await attacker.inject({
        method: 'GET',
        url: '/search/items?q=chair',
        headers: { 'content-type': type },
        payload: body,
      })
      expect([200, 400, 415]).toContain(fat.statusCode)
      if (fat.statusCode === 200) expect(fat.json().query).toBe('chair')
    }
    await expectClean('/search/items?q=chair')
  })

  it.each([
    '/me/balance.css',
    '/me/balance;.js',
    '/me/balance/x.png',
    '/me;.js',
    '/me/balance%2Fx.css',
    '/me/balance%23.css',
    '/me/balance/',
    '/me/balance?x.css',
    '/me/balance?cb=1.js',
  ])('never stores a private response for the deception path %s', async (path) => {
    const withA = await get(attacker, path, { authorization: `Bearer ${userA}` })
    expect(withA.statusCode).toBeGreaterThanOrEqual(400)
    expect(withA.body).not.toContain('balanceCents')
    for (const app of [attacker, victim]) {
      const anonymous = await get(app, path)
      expect(anonymous.statusCode).toBeGreaterThanOrEqual(400)
      expect(anonymous.body).not.toContain('balanceCents')
    }
  })

  it("never serves user A's private body, ETag or 304 to user B or to an anonymous client", async () => {
    const a = await get(attacker, '/me/balance', { authorization: `Bearer ${userA}` })
    expect(a.statusCode).toBe(200)
    expect(a.headers['cache-control']).toMatch(/private/)
    const etagA = a.headers.etag as string
    for (const app of [attacker, victim]) {
      const b = await get(app, '/me/balance', { authorization: `Bearer ${userB}`, 'if-none-match': etagA })
      expect(b.statusCode).toBe(200)
      expect(b.json().userId).toBe(2)
      expect(b.headers.etag).not.toBe(etagA)
      const anonymous = await get(app, '/me/balance', { 'if-none-match': etagA })
      expect(anonymous.statusCode).toBe(401)
      expect(anonymous.json().error.code).toBe('E_UNAUTHORIZED')
    }
  })

  it('does not share a response to a credentialed request on a route that does not declare itself public', async () => {
    const before = ownerCalls.count
    const withA = await get(attacker, '/test/owner', { authorization: `Bearer ${userA}` })
    expect(withA.json().owner).toBe(`Bearer ${userA}`)
    const withCookie = await get(attacker, '/test/owner', { cookie: 'session=a' })
    expect(withCookie.json().owner).toBe('session=a')
    for (const app of [attacker, victim, attacker]) {
      expect((await get(app, '/test/owner')).json().owner).toBe('anonymous')
      expect((await get(app, '/test/owner', { authorization: `Bearer ${userB}` })).json().owner).toBe(
        `Bearer ${userB}`,
      )
    }
    expect(ownerCalls.count).toBeGreaterThan(before + 2)
  })

  it('serves the same bytes to everyone on routes declared user-independent, credentials or not', async () => {
    const url = '/items/42'
    const withCookie = await get(attacker, url, { cookie: 'session=a', authorization: `Bearer ${userA}` })
    expect(withCookie.statusCode).toBe(200)
    await expectClean(url)
    expect((await get(victim, url)).body).toBe(withCookie.body)
  })

  it('never stores a response that sets a cookie', async () => {
    const first = await get(attacker, '/test/cookie')
    expect(first.headers['set-cookie']).toBe('sid=1; HttpOnly')
    const second = await get(victim, '/test/cookie')
    const third = await get(attacker, '/test/cookie')
    // Each client ran the handler and got its own cookie; nobody got the first client's.
    expect(second.headers['set-cookie']).toBe('sid=2; HttpOnly')
    expect(third.headers['set-cookie']).toBe('sid=3; HttpOnly')
    expect(setCookieCalls.count).toBe(3)
  })
})
