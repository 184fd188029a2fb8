/**
 * Cache keys built from user input (search `q`, list `category`, ids, the response cache's URL
 * key): every hostile value is either a clear 4xx with a code or a correct entry of its own, read
 * back identically by a second instance through Redis, and every Redis key stays under the prefix.
 * A private redis-server, so that SCAN sees only this file's keys.
 */
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServiceApp } from '../../../service/src/context.js'
import type { DedicatedRedis } from '../cache/helpers.js'
import { hasRedis } from '../../helpers/services.js'
import {
  privateRedis,
  redisClient,
  scanKeys,
  seededDatabase,
  serviceApp,
  uniquePrefix,
  type RedisClient,
  type SeededDatabase,
} from './support.js'

/** Characters that mean something to Redis patterns, key separators, JSON or URL parsers. */
const HOSTILE = [
  ':',
  '*',
  '?',
  '[',
  ']',
  '{}',
  '%3A',
  '%',
  '_',
  '\\',
  '__proto__',
  'constructor',
  '#',
  '&x=1',
]

describe.runIf(hasRedis)('hostile cache keys (data cache and response cache on Redis)', () => {
  let redis: DedicatedRedis
  let db: SeededDatabase
  let client: RedisClient
  let a: ServiceApp
  let b: ServiceApp
  const prefix = uniquePrefix('keys')
  /** Item id per hostile token: name `probe <t> end`, category `cat<t>`. */
  const ids = new Map<string, number>()

  beforeAll(async () => {
    redis = await privateRedis()
    db = await seededDatabase()
    const env = { CACHE: 'on', HTTP_CACHE: 'on', REDIS_URL: redis.url, CACHE_PREFIX: prefix }
    a = await serviceApp(db, env)
    b = await serviceApp(db, env)
    client = await redisClient(redis.url)
    for (const token of HOSTILE) {
      const created = await a.inject({
        method: 'POST',
        url: '/items',
        payload: { name: `probe ${token} end`, category: `cat${token}`, price: 1 },
      })
      expect(created.statusCode).toBe(201)
      ids.set(token, created.json<{ id: number }>().id)
    }
  })

  afterAll(async () => {
    await client?.close()
    await a?.close()
    await b?.close()
    await db?.close()
    await redis?.kill()
  })

  const get = (app: ServiceApp, url: string) => app.inject({ method: 'GET', url })
  const idsOf = (body: { data: { id: number }[] }) => body.data.map((item) => item.id)

  it('gives every hostile search query its own correct entry, the same on both instances', async () => {
    for (const token of HOSTILE) {
      const url = `/search/items?q=${encodeURIComponent(`probe ${token} end`)}`
      const first = await get(a, url)
      expect(first.statusCode, url).toBe(200)
      expect(idsOf(first.json()), url).toEqual([ids.get(token)])
      // Instance B has never seen it: it reads the shared entry (or loads it), never another's.
      const other = await get(b, url)
      expect(other.statusCode).toBe(200)
      expect(idsOf(other.json()), url).toEqual([ids.get(token)])
      expect((await get(a, url)).body).toBe(first.body)
    }
  })

  it('keeps look-alike categories apart (`:` vs `%3A`, `%` vs `_`, `{}` vs `[`)', async () => {
    const seen = new Map<string, string>()
    for (const token of HOSTILE) {
      const url = `/items?category=${encodeURIComponent(`cat${token}`)}`
      for (const app of [a, b, a]) {
        const response = await get(app, url)
        expect(response.statusCode, url).toBe(200)
        expect(idsOf(response.json()), url).toEqual([ids.get(token)])
      }
      seen.set(token, (await get(b, url)).body)
    }
    expect(new Set(seen.values()).size).toBe(HOSTILE.length)
  })

  it('keeps long look-alike inputs apart (hashed key components)', async () => {
    const long = (last: string) => `${':'.repeat(99)}${last}`
    for (const last of ['a', 'b']) {
      const created = await a.inject({
        method: 'POST',
        url: '/items',
        payload: { name: `long ${last}`, category: long(last), price: 1 },
      })
      expect(created.statusCode).toBe(201)
    }
    const [ra, rb] = await Promise.all(
      ['a', 'b'].map((last) => get(b, `/items?category=${encodeURIComponent(long(last))}`)),
    )
    expect(ra?.json().data.map((item: { name: string }) => item.name)).toEqual(['long a'])
    expect(rb?.json().data.map((item: { name: string }) => item.name)).toEqual(['long b'])
  })

  it.each([
    ['NUL in q', '/search/items?q=a%00b', 400, 'E_VALIDATION'],
    ['NUL in category', '/items?category=%00', 400, 'E_VALIDATION'],
    ['lone surrogate in q', '/search/items?q=%ED%A0%80', 400, 'E_HTTP_MALFORMED_URL'],
    ['lone low surrogate in category', '/items?category=x%ED%B0%80', 400, 'E_HTTP_MALFORMED_URL'],
    ['100 KB q', `/search/items?q=${'x'.repeat(100_000)}`, 400, 'E_VALIDATION'],
    ['100 KB category', `/items?category=${'%3A'.repeat(35_000)}`, 400, 'E_VALIDATION'],
    ['100 KB id', `/items/${'9'.repeat(100_000)}`, 414, 'E_URL_TOO_LONG'],
    ['undecodable id', '/items/%E0%A4%A', 400, 'E_BAD_URL'],
    ['id with a colon', '/items/1:2', 400, 'E_VALIDATION'],
    ['id pattern', '/items/*', 400, 'E_VALIDATION'],
    ['user id with braces', '/users/%7B1%7D/posts', 400, 'E_VALIDATION'],
    ['duplicated q', '/search/items?q=a&q=b', 400, 'E_VALIDATION'],
    ['__proto__ parameter', '/search/items?q=a&__proto__=x', 400, 'E_HTTP_UNKNOWN_QUERY_PARAM'],
    ['constructor parameter', '/items?constructor=x', 400, 'E_HTTP_UNKNOWN_QUERY_PARAM'],
    ['__proto__[x] parameter', '/items?__proto__%5Bpolluted%5D=1', 400, 'E_HTTP_UNKNOWN_QUERY_PARAM'],
  ])('%s → %i %s', async (_label, url, status, code) => {
    const response = await get(a, url)
    expect(response.statusCode).toBe(status)
    expect(response.json().error.code).toBe(code)
  })

  it('answers a 100 KB URL over real HTTP with 431 E_HEADERS_TOO_LARGE and keeps serving', async () => {
    await a.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(a.server.address() as AddressInfo).port}`
    for (const url of [`/search/items?q=${'x'.repeat(100_000)}`, `/items/${'9'.repeat(100_000)}`]) {
      const response = await request(`${base}${url}`)
      expect(response.statusCode).toBe(431)
      expect(await response.body.json()).toEqual({
        error: { code: 'E_HEADERS_TOO_LARGE', message: expect.any(String) },
      })
    }
    const after = await request(`${base}/items/1`)
    expect(after.statusCode).toBe(200)
    await after.body.dump()
  })

  it.each([
    ['NUL', { name: 'a\u0000b', category: 'c', price: 1 }],
    ['a lone high surrogate', { name: 'x\uD800y', category: 'c', price: 1 }],
    ['a lone low surrogate', { name: 'ok', category: '\uDC00', price: 1 }],
    ['a 100 KB name', { name: 'n'.repeat(100_000), category: 'c', price: 1 }],
  ])('rejects a body with %s with 400 E_VALIDATION', async (_label, payload) => {
    const response = await a.inject({ method: 'POST', url: '/items', payload })
    expect(response.statusCode).toBe(400)
    expect(response.json().error.code).toBe('E_VALIDATION')
  })

  it('accepts text with valid surrogate pairs (emoji) unchanged', async () => {
    const response = await a.inject({
      method: 'POST',
      url: '/items',
      payload: { name: 'rocket 🚀 lamp', category: 'c🚀', price: 1 },
    })
    expect(response.statusCode).toBe(201)
    const id = response.json<{ id: number }>().id
    expect((await get(b, `/items/${id}`)).json().name).toBe('rocket 🚀 lamp')
  })

  it('rejects __proto__ in a JSON body without polluting prototypes', async () => {
    const response = await a.inject({
      method: 'POST',
      url: '/items',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":"p","category":"c","price":1,"__proto__":{"polluted":true}}',
    })
    expect(response.statusCode).toBe(400)
    expect(response.json().error.code).toMatch(/^E_/)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('keeps every Redis key under the prefix, short, and free of raw input', async () => {
    const keys = await scanKeys(client)
    expect(keys.length).toBeGreaterThan(HOSTILE.length)
    for (const key of keys) {
      expect(key.startsWith(`${prefix}:`), key).toBe(true)
      expect(key.length, key).toBeLessThan(400)
      expect(key).not.toContain('\u0000')
    }
    // Both instances still answer.
    expect((await get(a, '/health')).statusCode).toBe(200)
    expect((await get(b, '/health')).statusCode).toBe(200)
  })
})
