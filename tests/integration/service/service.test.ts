/**
 * The reference service, end to end through `app.inject()`: one suite body, run on SQLite and on
 * PostgreSQL.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../../service/src/app.js'
import { tokenForUser } from '../../../service/src/auth/token.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { DB_QUERY_CHANNEL, type DbQueryMessage } from '../../../service/src/db/query-channel.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { BACKENDS, type TestDatabase } from './backends.js'

const SEED = 7
const SIZES = { items: 300, users: 30, posts: 600, seed: SEED }

type Json = Record<string, unknown>

describe.each(BACKENDS)('reference service on $name', (backend) => {
  describe.runIf(backend.enabled)(backend.name, () => {
    let testDb: TestDatabase
    let database: ServiceDatabase
    let app: ServiceApp

    beforeAll(async () => {
      testDb = await backend.create()
      const config = loadConfig({ DATABASE_URL: testDb.url, LOG_LEVEL: 'silent' })
      database = await createDatabase(config.database, { poolSize: 4 })
      await seedDatabase(database, SIZES)
      app = await buildApp(config, { database })
      await app.ready()
    })

    afterAll(async () => {
      await app?.close()
      await database?.close()
      await testDb?.drop()
    })

    const get = (url: string, headers: Record<string, string> = {}) =>
      app.inject({ method: 'GET', url, headers })
    const itemCount = async () =>
      Number(
        (
          await database.db
            .selectFrom('items')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      )
    const itemRow = (id: number) =>
      database.db.selectFrom('items').selectAll().where('id', '=', id).executeTakeFirst()

    describe('items', () => {
      it('GET /items/:id answers the row in API shape', async () => {
        const response = await get('/items/1')
        expect(response.statusCode).toBe(200)
        expect(response.headers['content-type']).toMatch(/^application\/json/)
        const row = await itemRow(1)
        expect(response.json()).toEqual({
          id: 1,
          name: row?.name,
          category: row?.category,
          price: row?.price,
          description: row?.description,
          updatedAt: row?.updated_at,
          version: 1,
        })
      })

      it('GET /items/:id of a missing item is a 404 with code E_NOT_FOUND', async () => {
        const response = await get('/items/999999')
        expect(response.statusCode).toBe(404)
        expect(response.json()).toEqual({
          error: { code: 'E_NOT_FOUND', message: expect.stringContaining('999999') },
        })
      })

      it('GET /items pages without overlap and reports hasMore', async () => {
        const first = (await get('/items?page=1&size=10')).json() as {
          data: Json[]
          hasMore: boolean
          page: number
          size: number
        }
        const second = (await get('/items?page=2&size=10')).json() as { data: Json[] }
        expect(first).toMatchObject({ page: 1, size: 10, hasMore: true })
        expect(first.data.map((item) => item.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        expect(second.data.map((item) => item.id)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
        const last = (await get('/items?page=30&size=10')).json() as { data: Json[]; hasMore: boolean }
        expect(last.hasMore).toBe(false)
        expect(last.data).toHaveLength(10)
        const defaults = (await get('/items')).json() as { data: Json[]; size: number }
        expect(defaults.size).toBe(20)
        expect(defaults.data).toHaveLength(20)
      })

      it('GET /items sorts by every sort key, ties broken by id', async () => {
        for (const [sort, field] of [
          ['-price', 'price'],
          ['price', 'price'],
          ['name', 'name'],
          ['-updated_at', 'updatedAt'],
          ['-id', 'id'],
        ] as const) {
          const { data } = (await get(`/items?size=50&sort=${sort}`)).json() as { data: Json[] }
          const values = data.map((item) => item[field] as string | number)
          const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
          expect(values, sort).toEqual(sort.startsWith('-') ? sorted.reverse() : sorted)
        }
        const all = await database.db
          .selectFrom('items')
          .select(['id', 'price'])
          .orderBy('price', 'desc')
          .orderBy('id', 'desc')
          .limit(20)
          .execute()
        const { data } = (await get('/items?size=20&sort=-price')).json() as { data: Json[] }
        expect(data.map((item) => item.id)).toEqual(all.map((row) => row.id))
      })

      it('GET /items filters by category, unicode included', async () => {
        const response = await get(`/items?size=100&category=${encodeURIComponent('café')}`)
        expect(response.statusCode).toBe(200)
        const { data } = response.json() as { data: Json[] }
        expect(data.length).toBeGreaterThan(0)
        expect(data.every((item) => item.category === 'café')).toBe(true)
      })

      it('POST /items creates with 201, Location and version 1', async () => {
        const before = await itemCount()
        const response = await app.inject({
          method: 'POST',
          url: '/items',
          payload: { name: 'Théière "XL", 1L', category: 'kitchen', price: 2599 },
        })
        expect(response.statusCode).toBe(201)
        const created = response.json() as Json
        expect(created).toMatchObject({
          name: 'Théière "XL", 1L',
          category: 'kitchen',
          price: 2599,
          description: '',
          version: 1,
        })
        expect(response.headers.location).toBe(`/items/${created.id}`)
        expect(await itemCount()).toBe(before + 1)
        expect((await get(response.headers.location as string)).json()).toEqual(created)
      })

      it('PUT /items/:id replaces every field and bumps version and updatedAt', async () => {
        const before = (await get('/items/3')).json() as Json
        const body = { name: 'Replaced', category: 'books', price: 100, description: 'new' }
        const response = await app.inject({ method: 'PUT', url: '/items/3', payload: body })
        expect(response.statusCode).toBe(200)
        const after = response.json() as Json
        expect(after).toMatchObject({ id: 3, ...body, version: (before.version as number) + 1 })
        expect(after.updatedAt).not.toBe(before.updatedAt)
        expect((await get('/items/3')).json()).toEqual(after)
      })

      it('PATCH /items/:id changes only the given fields and bumps version', async () => {
        const before = (await get('/items/4')).json() as Json
        const response = await app.inject({ method: 'PATCH', url: '/items/4', payload: { price: 4242 } })
        expect(response.statusCode).toBe(200)
        expect(response.json()).toEqual({
          ...before,
          price: 4242,
          version: (before.version as number) + 1,
          updatedAt: expect.any(String),
        })
        expect((response.json() as Json).updatedAt).not.toBe(before.updatedAt)
      })

      it('PUT and PATCH of a missing item are 404 and create nothing', async () => {
        const before = await itemCount()
        const put = await app.inject({
          method: 'PUT',
          url: '/items/999999',
          payload: { name: 'n', category: 'c', price: 1, description: '' },
        })
        const patch = await app.inject({ method: 'PATCH', url: '/items/999999', payload: { price: 1 } })
        expect([put.statusCode, patch.statusCode]).toEqual([404, 404])
        expect((put.json() as { error: Json }).error.code).toBe('E_NOT_FOUND')
        expect(await itemCount()).toBe(before)
      })

      it('DELETE /items/:id answers 204, then 404', async () => {
        const before = await itemCount()
        const first = await app.inject({ method: 'DELETE', url: '/items/5' })
        expect(first.statusCode).toBe(204)
        expect(first.body).toBe('')
        expect(await itemCount()).toBe(before - 1)
        expect((await get('/items/5')).statusCode).toBe(404)
        const second = await app.inject({ method: 'DELETE', url: '/items/5' })
        expect(second.statusCode).toBe(404)
        expect((second.json() as { error: Json }).error.code).toBe('E_NOT_FOUND')
      })
    })

    describe('users and posts', () => {
      it('GET /users/:id answers the user without secrets; 404 when missing', async () => {
        const response = await get('/users/1')
        expect(response.statusCode).toBe(200)
        expect(response.json()).toEqual({
          id: 1,
          name: expect.any(String),
          email: 'user1@example.com',
          createdAt: expect.any(String),
        })
        expect(response.body).not.toContain('api_token_hash')
        expect((await get('/users/999999')).statusCode).toBe(404)
      })

      it("GET /users/:id/posts pages one user's posts; 404 for a missing user", async () => {
        const expected = await database.db
          .selectFrom('posts')
          .select('id')
          .where('user_id', '=', 2)
          .orderBy('id')
          .execute()
        expect(expected.length).toBeGreaterThan(3)
        const first = (await get('/users/2/posts?size=3')).json() as { data: Json[]; hasMore: boolean }
        const second = (await get('/users/2/posts?size=3&page=2')).json() as { data: Json[] }
        expect(first.hasMore).toBe(true)
        expect([...first.data, ...second.data].map((post) => post.id)).toEqual(
          expected.slice(0, 6).map((row) => row.id),
        )
        expect(first.data.every((post) => post.userId === 2 && typeof post.body === 'string')).toBe(true)
        const missing = await get('/users/999999/posts')
        expect(missing.statusCode).toBe(404)
        expect((missing.json() as { error: Json }).error.code).toBe('E_NOT_FOUND')
      })

      it('GET /users pages users; include=posts embeds every post of each user', async () => {
        const plain = (await get('/users?size=5')).json() as { data: Json[]; hasMore: boolean }
        expect(plain.data.map((user) => user.id)).toEqual([1, 2, 3, 4, 5])
        expect(plain.data.every((user) => !('posts' in user))).toBe(true)
        const withPosts = (await get('/users?size=5&include=posts')).json() as {
          data: Array<{ id: number; posts: Json[] }>
        }
        for (const user of withPosts.data) {
          const ids = await database.db
            .selectFrom('posts')
            .select('id')
            .where('user_id', '=', user.id)
            .orderBy('id')
            .execute()
          expect(user.posts.map((post) => post.id)).toEqual(ids.map((row) => row.id))
        }
      })

      it('include=posts: naive issues 1 + N queries, batched issues 2, same JSON', async () => {
        const queries: DbQueryMessage[] = []
        const listener = (message: unknown) => queries.push(message as DbQueryMessage)
        diagnosticsChannel.subscribe(DB_QUERY_CHANNEL, listener)
        try {
          const count = async (url: string) => {
            queries.length = 0
            const response = await get(url)
            expect(response.statusCode).toBe(200)
            return {
              body: response.body,
              queries: queries.filter((query) => query.dialect === backend.name).length,
            }
          }
          const naive = await count('/users?page=2&size=7&include=posts&strategy=naive')
          const batched = await count('/users?page=2&size=7&include=posts&strategy=batched')
          const users = (JSON.parse(naive.body) as { data: unknown[] }).data.length
          expect(users).toBe(7)
          expect(naive.queries).toBe(1 + users)
          expect(batched.queries).toBe(2)
          expect(batched.body).toBe(naive.body)
          expect(
            queries.every((query) => typeof query.sql === 'string' && typeof query.durationMs === 'number'),
          ).toBe(true)
        } finally {
          diagnosticsChannel.unsubscribe(DB_QUERY_CHANNEL, listener)
        }
      })
    })

    describe('search, static data, me, health', () => {
      it('GET /search/items normalises the query and matches names', async () => {
        const response = await get(`/search/items?q=${encodeURIComponent('  LAMP  ')}&limit=5`)
        expect(response.statusCode).toBe(200)
        const body = response.json() as { query: string; data: Json[] }
        expect(body.query).toBe('lamp')
        expect(body.data.length).toBeGreaterThan(0)
        expect(body.data.length).toBeLessThanOrEqual(5)
        expect(body.data.every((item) => (item.name as string).toLowerCase().includes('lamp'))).toBe(true)
      })

      it('GET /search/items treats LIKE wildcards as text', async () => {
        const percent = (await get('/search/items?q=%25')).json() as { data: Json[] }
        const underscore = (await get('/search/items?q=_')).json() as { data: Json[] }
        expect(percent.data).toEqual([])
        expect(underscore.data).toEqual([])
      })

      it('GET /static-data answers the reference data', async () => {
        const response = await get('/static-data')
        expect(response.statusCode).toBe(200)
        expect(response.json()).toMatchObject({
          categories: expect.arrayContaining(['café', 'books']),
          currency: 'EUR',
          pageSize: { default: 20, max: 100 },
        })
      })

      it("GET /me/balance answers the token owner's balance", async () => {
        const row = await database.db
          .selectFrom('users')
          .select('balance_cents')
          .where('id', '=', 3)
          .executeTakeFirstOrThrow()
        const response = await get('/me/balance', { authorization: `Bearer ${tokenForUser(SEED, 3)}` })
        expect(response.statusCode).toBe(200)
        expect(response.json()).toEqual({ userId: 3, balanceCents: row.balance_cents })
        expect(response.headers['cache-control']).toBe('private, no-cache')
      })

      it('GET /health pings the database', async () => {
        const response = await get('/health')
        expect(response.statusCode).toBe(200)
        expect(response.json()).toEqual({ status: 'ok', database: backend.name })
      })
    })

    describe('bad input: the right 4xx, a code and a message, nothing written', () => {
      const json = { 'content-type': 'application/json' }
      const valid = { name: 'Valid', category: 'books', price: 1 }
      const cases: Array<{
        name: string
        method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
        url: string
        headers?: Record<string, string>
        payload?: unknown
        status: number
        code: string
      }> = [
        { name: 'non-numeric id', url: '/items/abc', status: 400, code: 'E_VALIDATION' },
        { name: 'negative id', url: '/items/-1', status: 400, code: 'E_VALIDATION' },
        { name: 'zero id', url: '/items/0', status: 400, code: 'E_VALIDATION' },
        { name: 'fractional id', url: '/items/1.5', status: 400, code: 'E_VALIDATION' },
        { name: 'exponent id', url: '/items/1e3', status: 400, code: 'E_VALIDATION' },
        { name: 'id beyond 32 bits', url: '/items/99999999999', status: 400, code: 'E_VALIDATION' },
        { name: 'non-numeric user id', url: '/users/x/posts', status: 400, code: 'E_VALIDATION' },
        { name: 'page=0', url: '/items?page=0', status: 400, code: 'E_VALIDATION' },
        { name: 'size=100000', url: '/items?size=100000', status: 400, code: 'E_VALIDATION' },
        { name: 'size=0', url: '/users?size=0', status: 400, code: 'E_VALIDATION' },
        { name: 'unknown sort', url: '/items?sort=drop', status: 400, code: 'E_VALIDATION' },
        {
          name: 'unknown strategy',
          url: '/users?include=posts&strategy=eager',
          status: 400,
          code: 'E_VALIDATION',
        },
        { name: 'unknown query param on a list', url: '/items?color=red', status: 400, code: 'E_VALIDATION' },
        {
          name: 'unknown query param on an entity',
          url: '/items/1?debug=1',
          status: 400,
          code: 'E_VALIDATION',
        },
        { name: 'repeated query param', url: '/items?page=1&page=2', status: 400, code: 'E_VALIDATION' },
        { name: 'search without q', url: '/search/items', status: 400, code: 'E_VALIDATION' },
        { name: 'search with blank q', url: '/search/items?q=%20%20', status: 400, code: 'E_VALIDATION' },
        {
          name: 'search with a 101-char q',
          url: `/search/items?q=${'a'.repeat(101)}`,
          status: 400,
          code: 'E_VALIDATION',
        },
        { name: 'NUL in a query parameter', url: '/items?category=a%00b', status: 400, code: 'E_VALIDATION' },
        { name: 'NUL in the search query', url: '/search/items?q=%00', status: 400, code: 'E_VALIDATION' },
        {
          name: 'NUL in a body string',
          method: 'POST',
          url: '/items',
          payload: { ...valid, description: 'a\u0000b' },
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'wrong JSON type (string price)',
          method: 'POST',
          url: '/items',
          payload: { ...valid, price: '1' },
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'wrong JSON type (numeric name)',
          method: 'POST',
          url: '/items',
          payload: { ...valid, name: 5 },
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'negative price',
          method: 'POST',
          url: '/items',
          payload: { ...valid, price: -1 },
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'blank name',
          method: 'POST',
          url: '/items',
          payload: { ...valid, name: '   ' },
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'missing field',
          method: 'POST',
          url: '/items',
          payload: { name: 'x', price: 1 },
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'extra field',
          method: 'POST',
          url: '/items',
          payload: { ...valid, admin: true },
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'array body',
          method: 'POST',
          url: '/items',
          payload: [valid],
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'malformed JSON',
          method: 'POST',
          url: '/items',
          headers: json,
          payload: '{"name": "x",',
          status: 400,
          code: 'E_MALFORMED_JSON',
        },
        {
          name: 'empty JSON body',
          method: 'POST',
          url: '/items',
          headers: json,
          payload: '',
          status: 400,
          code: 'E_EMPTY_BODY',
        },
        {
          name: '10 MB body',
          method: 'POST',
          url: '/items',
          headers: json,
          payload: JSON.stringify({ ...valid, description: 'x'.repeat(10 * 1024 * 1024) }),
          status: 413,
          code: 'E_BODY_TOO_LARGE',
        },
        {
          name: 'text/plain body',
          method: 'POST',
          url: '/items',
          headers: { 'content-type': 'text/plain' },
          payload: 'name=x',
          status: 415,
          code: 'E_UNSUPPORTED_MEDIA_TYPE',
        },
        {
          name: 'PUT missing a field',
          method: 'PUT',
          url: '/items/1',
          payload: valid,
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'PUT extra field',
          method: 'PUT',
          url: '/items/1',
          payload: { ...valid, description: '', version: 9 },
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'PUT bad id',
          method: 'PUT',
          url: '/items/abc',
          payload: { ...valid, description: '' },
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'PATCH empty object',
          method: 'PATCH',
          url: '/items/1',
          payload: {},
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'PATCH wrong type',
          method: 'PATCH',
          url: '/items/1',
          payload: { price: 1.5 },
          status: 400,
          code: 'E_VALIDATION',
        },
        {
          name: 'PATCH null field',
          method: 'PATCH',
          url: '/items/1',
          payload: { name: null },
          status: 400,
          code: 'E_VALIDATION',
        },
        { name: 'DELETE bad id', method: 'DELETE', url: '/items/-3', status: 400, code: 'E_VALIDATION' },
        { name: 'unknown route', url: '/nothing/here', status: 404, code: 'E_ROUTE_NOT_FOUND' },
        {
          name: 'unknown method on a route',
          method: 'POST',
          url: '/items/1',
          payload: valid,
          status: 404,
          code: 'E_ROUTE_NOT_FOUND',
        },
        { name: 'missing bearer token', url: '/me/balance', status: 401, code: 'E_UNAUTHORIZED' },
        {
          name: 'wrong auth scheme',
          url: '/me/balance',
          headers: { authorization: `Basic ${tokenForUser(SEED, 1)}` },
          status: 401,
          code: 'E_UNAUTHORIZED',
        },
        {
          name: 'malformed bearer token',
          url: '/me/balance',
          headers: { authorization: 'Bearer not-a-token' },
          status: 401,
          code: 'E_UNAUTHORIZED',
        },
        {
          name: 'unknown bearer token',
          url: '/me/balance',
          headers: { authorization: `Bearer ${tokenForUser(SEED + 1, 1)}` },
          status: 401,
          code: 'E_UNAUTHORIZED',
        },
      ]

      it.each(cases)(
        '$name → $status $code',
        async ({ method = 'GET', url, headers, payload, status, code }) => {
          const countBefore = await itemCount()
          const itemBefore = await itemRow(1)
          const response = await app.inject({
            method,
            url,
            headers,
            payload: payload as string | object | undefined,
          })
          expect(response.statusCode).toBe(status)
          const body = response.json() as { error: { code: string; message: string } }
          expect(body).toEqual({ error: { code, message: expect.any(String) } })
          expect(body.error.message.length).toBeGreaterThan(10)
          if (status === 401) expect(response.headers['www-authenticate']).toBe('Bearer')
          expect(await itemCount()).toBe(countBefore)
          expect(await itemRow(1)).toEqual(itemBefore)
        },
      )
    })
  })
})
