/**
 * The cache and HTTP caching wired into the reference service, through `app.inject()` on SQLite and
 * PostgreSQL, memory-only and with Redis shared by two app instances over one database.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createClient } from 'redis'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type ServiceSetup } from '../../../service/src/app.js'
import { tokenForUser } from '../../../service/src/auth/token.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { DEFAULT_L1_TRUST_TIMEOUT } from '../../../src/cache/defaults.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import { BACKENDS, type TestDatabase } from '../service/backends.js'

const SEED = 5
const SIZES = { items: 60, users: 6, posts: 30, seed: SEED }
const METRICS_TOKEN = 'metrics-token-0123456789'
/** Every write reaches another instance's L1 within this bound (the cache's `l1TrustTimeout`). */
const COHERENCE_BOUND_MS = DEFAULT_L1_TRUST_TIMEOUT + 200

type Json = Record<string, unknown>

const MODES = [
  { name: 'memory only', redis: false, enabled: true },
  { name: 'memory + Redis', redis: true, enabled: hasRedis },
] as const

/** Deletes every key of a test prefix (tests only; the service itself never scans). */
async function dropPrefix(prefix: string): Promise<void> {
  const client = createClient({ url: REDIS_URL })
  await client.connect()
  try {
    const keys: string[] = []
    for await (const batch of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) keys.push(...batch)
    if (keys.length > 0) await client.del(keys)
  } finally {
    client.destroy()
  }
}

describe.each(BACKENDS)('service caching on $name', (backend) => {
  describe.runIf(backend.enabled)('', () => {
    let testDb: TestDatabase
    let database: ServiceDatabase
    const apps: ServiceApp[] = []
    const prefixes: string[] = []

    beforeAll(async () => {
      testDb = await backend.create()
      database = await createDatabase(loadConfig({ DATABASE_URL: testDb.url }).database, { migrate: true })
      await seedDatabase(database, SIZES)
    })

    afterAll(async () => {
      for (const app of apps) await app.close()
      await database?.close()
      await testDb?.drop()
      if (hasRedis) for (const prefix of prefixes) await dropPrefix(prefix)
    })

    async function makeApp(env: Record<string, string> = {}, setup?: ServiceSetup): Promise<ServiceApp> {
      const config = loadConfig({
        DATABASE_URL: testDb.url,
        LOG_LEVEL: 'silent',
        METRICS_TOKEN,
        BLOCKING_THRESHOLD_MS: '0',
        ...env,
      })
      const app = await buildApp(config, { database, plugins: setup ? [setup] : [] })
      apps.push(app)
      await app.ready()
      return app
    }

    function redisEnv(): Record<string, string> {
      const prefix = `test-svc-${randomBytes(4).toString('hex')}`
      prefixes.push(prefix)
      return { REDIS_URL, CACHE_PREFIX: prefix }
    }

    const get = (app: ServiceApp, url: string, headers: Record<string, string> = {}) =>
      app.inject({ method: 'GET', url, headers })
    const patch = (app: ServiceApp, id: number, payload: Json, headers: Record<string, string> = {}) =>
      app.inject({ method: 'PATCH', url: `/items/${id}`, payload, headers })

    describe.each(MODES)('data cache, $name', (mode) => {
      describe.runIf(mode.enabled)('', () => {
        let a: ServiceApp
        let b: ServiceApp | undefined

        beforeAll(async () => {
          const env = mode.redis ? redisEnv() : {}
          a = await makeApp(env)
          // Two instances share a cache only through Redis.
          b = mode.redis ? await makeApp(env) : undefined
          // With Redis, L1 is trusted once the coherence channel is up (its first heartbeat).
          for (const app of [a, b]) {
            if (app === undefined) continue
            for (let i = 0; i < 100 && app.service.cache?.cache.stats().l1Trusted !== true; i++)
              await sleep(50)
          }
        })
        // Each mode works on its own items (they share the database).
        const id = (n: number) => (mode.redis ? 40 : 0) + n

        it('GET /items/:id goes miss → hit-l1 with the same body', async () => {
          const first = await get(a, `/items/${id(3)}`)
          expect(first.statusCode).toBe(200)
          expect(first.headers['x-cache']).toBe('miss')
          const second = await get(a, `/items/${id(3)}`)
          expect(second.headers['x-cache']).toBe('hit-l1')
          expect(second.body).toBe(first.body)
          // Later hits send the JSON text kept from the first hit: the same bytes and headers.
          const third = await get(a, `/items/${id(3)}`)
          expect(third.headers['x-cache']).toBe('hit-l1')
          expect(third.body).toBe(first.body)
          for (const header of ['content-type', 'content-length', 'etag', 'cache-control', 'vary']) {
            expect([header, third.headers[header]]).toEqual([header, first.headers[header]])
          }
          // A write replaces the entry: the next hit serializes the new item, not the kept text.
          const updated = await patch(a, id(3), { name: 'three, renamed' })
          expect(updated.statusCode).toBe(200)
          await get(a, `/items/${id(3)}`)
          const after = await get(a, `/items/${id(3)}`)
          expect(after.headers['x-cache']).toBe('hit-l1')
          expect(after.json()).toEqual(updated.json())
        })

        it.runIf(mode.redis)(
          'a second instance is served from Redis (hit-l2), then from its L1',
          async () => {
            await get(a, `/items/${id(4)}`)
            const other = b as ServiceApp
            const fromL2 = await get(other, `/items/${id(4)}`)
            expect(fromL2.statusCode).toBe(200)
            expect(fromL2.headers['x-cache']).toBe('hit-l2')
            expect((await get(other, `/items/${id(4)}`)).headers['x-cache']).toBe('hit-l1')
          },
        )

        it('a write is read back at once on the same instance, and on another within the bound', async () => {
          const other = b ?? a
          // Both instances hold the item in L1 before the write.
          await get(a, `/items/${id(5)}`)
          await get(other, `/items/${id(5)}`)
          const updated = await patch(a, id(5), { name: 'renamed five' })
          expect(updated.statusCode).toBe(200)
          const version = (updated.json() as { version: number }).version

          const same = await get(a, `/items/${id(5)}`)
          expect(same.json()).toMatchObject({ name: 'renamed five', version })

          await sleep(COHERENCE_BOUND_MS)
          const remote = await get(other, `/items/${id(5)}`)
          expect(remote.json()).toMatchObject({ name: 'renamed five', version })
          expect(remote.headers.etag).toBe(same.headers.etag)
        })

        it('a delete is seen everywhere: 404 instead of the cached item', async () => {
          const other = b ?? a
          await get(a, `/items/${id(6)}`)
          await get(other, `/items/${id(6)}`)
          expect((await a.inject({ method: 'DELETE', url: `/items/${id(6)}` })).statusCode).toBe(204)
          expect((await get(a, `/items/${id(6)}`)).statusCode).toBe(404)
          await sleep(COHERENCE_BOUND_MS)
          expect((await get(other, `/items/${id(6)}`)).statusCode).toBe(404)
        })

        it('caches list pages and drops them all on any item write (namespace bump)', async () => {
          const url = '/items?page=1&size=5&sort=id'
          const first = await get(a, url)
          expect(first.headers['x-cache']).toBe('miss')
          expect((await get(a, url)).headers['x-cache']).toBe('hit-l1')
          // Another category and sort are other keys.
          expect((await get(a, '/items?page=1&size=5&sort=-id')).headers['x-cache']).toBe('miss')

          expect((await patch(a, 1, { name: 'first item, renamed' })).statusCode).toBe(200)
          const after = await get(a, url)
          expect(after.headers['x-cache']).toBe('miss')
          expect((after.json() as { data: Json[] }).data[0]).toMatchObject({
            id: 1,
            name: 'first item, renamed',
          })
          if (b) {
            await sleep(COHERENCE_BOUND_MS)
            const remote = await get(b, url)
            expect((remote.json() as { data: Json[] }).data[0]).toMatchObject({ name: 'first item, renamed' })
          }
        })

        it('keys search by the normalised query and drops results on item writes', async () => {
          const first = await get(a, '/search/items?q=first%20ITEM')
          expect(first.statusCode).toBe(200)
          expect(first.headers['x-cache']).toBe('miss')
          // Same normalised query, other spelling: the same entry.
          const same = await get(a, '/search/items?q=%20%20First%20%20item%20')
          expect(same.headers['x-cache']).toBe('hit-l1')
          expect((same.json() as { data: Json[] }).data).toEqual((first.json() as { data: Json[] }).data)

          expect((await patch(a, 1, { name: 'first item, again' })).statusCode).toBe(200)
          const after = await get(a, '/search/items?q=first%20item')
          expect(after.headers['x-cache']).toBe('miss')
          expect((after.json() as { data: Json[] }).data).toContainEqual(
            expect.objectContaining({ id: 1, name: 'first item, again' }),
          )
        })

        it("caches a user's posts with the user:{id} tag; a change to the user invalidates it", async () => {
          const userId = 2
          const url = `/users/${userId}/posts?size=100`
          const first = await get(a, url)
          expect(first.statusCode).toBe(200)
          expect(first.headers['x-cache']).toBe('miss')
          expect((await get(a, url)).headers['x-cache']).toBe('hit-l1')
          const before = (first.json() as { data: Json[] }).data.length

          await database.db
            .insertInto('posts')
            .values({ user_id: userId, title: 'fresh post', body: 'b', created_at: new Date().toISOString() })
            .execute()
          // Without invalidation the cache answers the old page: the tag is what makes it fresh.
          expect((await get(a, url)).headers['x-cache']).toBe('hit-l1')
          await a.service.cache?.userChanged(userId)

          const after = await get(a, url)
          expect(after.headers['x-cache']).toBe('miss')
          const posts = (after.json() as { data: Json[] }).data
          expect(posts).toHaveLength(before + 1)
          expect(posts.at(-1)).toMatchObject({ title: 'fresh post' })
          if (b) {
            await sleep(COHERENCE_BOUND_MS)
            expect((await get(b, url)).json()).toEqual(after.json())
          }
        })

        it('a slow fill that read an older row never replaces a newer write', async () => {
          const cache = a.service.cache
          if (cache === undefined) throw new Error('the service cache is on by default')
          const old = await a.service.repositories.items.findById(id(7))
          if (old === undefined) throw new Error('item 7 is seeded')
          let release: () => void = () => {}
          const latch = new Promise<void>((resolve) => (release = resolve))
          const slowFill = cache.item(id(7), async () => {
            await latch
            return old
          })
          const updated = await patch(a, id(7), { name: 'newer seven' })
          expect(updated.statusCode).toBe(200)
          release()
          await slowFill
          const read = await get(a, `/items/${id(7)}`)
          expect(read.json()).toMatchObject({ name: 'newer seven' })
          if (b) {
            await sleep(COHERENCE_BOUND_MS)
            expect((await get(b, `/items/${id(7)}`)).json()).toMatchObject({ name: 'newer seven' })
          }
        })
      })
    })

    it('serves an expired item as stale within the grace period while it refreshes', async () => {
      const app = await makeApp({ CACHE_TTL: '300ms', CACHE_GRACE: '1m' })
      expect((await get(app, '/items/35')).headers['x-cache']).toBe('miss')
      await sleep(400)
      const stale = await get(app, '/items/35')
      expect(stale.statusCode).toBe(200)
      expect(stale.headers['x-cache']).toBe('stale')
      // The background refresh stored a fresh entry.
      for (let i = 0; i < 40 && (await get(app, '/items/35')).headers['x-cache'] !== 'hit-l1'; i++)
        await sleep(5)
      expect((await get(app, '/items/35')).headers['x-cache']).toBe('hit-l1')
    })

    describe('HTTP caching (validators and policies)', () => {
      let app: ServiceApp

      beforeAll(async () => {
        app = await makeApp()
      })

      it('answers 304 to If-None-Match with the item ETag, and 200 once the item changed', async () => {
        const first = await get(app, '/items/10')
        const etag = first.headers.etag as string
        expect(etag).toMatch(/^"v\d+-[0-9a-z]+"$/)
        expect(first.headers['cache-control']).toBe('public, no-cache')

        const revalidated = await get(app, '/items/10', { 'if-none-match': etag })
        expect(revalidated.statusCode).toBe(304)
        expect(revalidated.body).toBe('')
        expect(revalidated.headers.etag).toBe(etag)

        await patch(app, 10, { price: 1234 })
        const changed = await get(app, '/items/10', { 'if-none-match': etag })
        expect(changed.statusCode).toBe(200)
        expect(changed.json()).toMatchObject({ price: 1234 })
        expect(changed.headers.etag).not.toBe(etag)
      })

      it('answers 412 to a PUT with a stale If-Match and applies one with the current ETag', async () => {
        const current = await get(app, '/items/11')
        const etag = current.headers.etag as string
        const body = { name: 'put eleven', category: 'books', price: 100, description: 'd' }
        expect((await patch(app, 11, { price: 5 })).statusCode).toBe(200)

        const stale = await app.inject({
          method: 'PUT',
          url: '/items/11',
          payload: body,
          headers: { 'if-match': etag },
        })
        expect(stale.statusCode).toBe(412)
        expect(stale.json()).toMatchObject({
          error: { code: expect.any(String), message: expect.any(String) },
        })
        expect((await get(app, '/items/11')).json()).toMatchObject({ price: 5 })

        const fresh = (await get(app, '/items/11')).headers.etag as string
        const applied = await app.inject({
          method: 'PUT',
          url: '/items/11',
          payload: body,
          headers: { 'if-match': fresh },
        })
        expect(applied.statusCode).toBe(200)
        expect(applied.json()).toMatchObject({ name: 'put eleven' })
        expect(applied.headers.etag).not.toBe(fresh)
      })

      it('answers 428 to an item write without If-Match when REQUIRE_IF_MATCH=on', async () => {
        const strict = await makeApp({ REQUIRE_IF_MATCH: 'on' })
        const missing = await patch(strict, 12, { price: 1 })
        expect(missing.statusCode).toBe(428)
        const etag = (await get(strict, '/items/12')).headers.etag as string
        expect((await patch(strict, 12, { price: 1 }, { 'if-match': etag })).statusCode).toBe(200)
      })

      it('re-checks If-Match in the write itself: a write landing after the check still gets 412', async () => {
        const interloper = await makeApp({}, (instance) => {
          const inner = instance.service.repositories.items
          // Fault injection: another client's write lands between the precondition check and ours.
          const patchAfterAnother: typeof inner.patch = async (id, changes, condition) => {
            await inner.patch(id, { description: 'written in between' })
            return inner.patch(id, changes, condition)
          }
          instance.service.repositories.items = new Proxy(inner, {
            get(target, property) {
              if (property === 'patch') return patchAfterAnother
              const value: unknown = Reflect.get(target, property, target)
              return typeof value === 'function' ? (value as () => unknown).bind(target) : value
            },
          })
        })
        const etag = (await get(interloper, '/items/13')).headers.etag as string
        const lost = await patch(interloper, 13, { name: 'lost update' }, { 'if-match': etag })
        expect(lost.statusCode).toBe(412)
        expect(lost.json()).toMatchObject({ error: { code: 'E_HTTP_PRECONDITION_FAILED' } })
        const row = await database.db
          .selectFrom('items')
          .selectAll()
          .where('id', '=', 13)
          .executeTakeFirstOrThrow()
        expect(row.name).not.toBe('lost update')
        expect(row.description).toBe('written in between')
        // Unconditional writes are not affected.
        expect((await patch(interloper, 13, { name: 'plain update' })).statusCode).toBe(200)
      })

      it('/static-data is public for an hour', async () => {
        const response = await get(app, '/static-data')
        expect(response.statusCode).toBe(200)
        expect(response.headers['cache-control']).toBe('public, max-age=3600')
        expect(response.headers.etag).toBeDefined()
      })

      it('/me/balance is private and revalidates per user only', async () => {
        const alice = { authorization: `Bearer ${tokenForUser(SEED, 1)}` }
        const bob = { authorization: `Bearer ${tokenForUser(SEED, 2)}` }
        const first = await get(app, '/me/balance', alice)
        expect(first.statusCode).toBe(200)
        expect(first.headers['cache-control']).toBe('private, no-cache')
        const etag = first.headers.etag as string
        expect((await get(app, '/me/balance', { ...alice, 'if-none-match': etag })).statusCode).toBe(304)

        // Bob presenting Alice's validator gets his own balance, never a 304 on hers.
        const other = await get(app, '/me/balance', { ...bob, 'if-none-match': etag })
        expect(other.statusCode).toBe(200)
        expect(other.json()).toMatchObject({ userId: 2 })
        expect(other.headers.etag).not.toBe(etag)
      })
    })

    describe('HTTP response cache (HTTP_CACHE=on)', () => {
      let app: ServiceApp

      beforeAll(async () => {
        app = await makeApp({ HTTP_CACHE: 'on' })
      })

      it('stores public responses and answers hits without running the route', async () => {
        expect((await get(app, '/static-data')).headers['x-cache']).toBe('miss')
        expect((await get(app, '/static-data')).headers['x-cache']).toBe('hit-l1')
        await get(app, '/items/20')
        const hit = await get(app, '/items/20')
        expect(hit.headers['x-cache']).toBe('hit-l1')
        const etag = hit.headers.etag as string
        expect((await get(app, '/items/20', { 'if-none-match': etag })).statusCode).toBe(304)
      })

      it('a write purges the stored item and every stored list page', async () => {
        await get(app, '/items/21')
        await get(app, '/items?page=1&size=30')
        expect((await get(app, '/items?page=1&size=30')).headers['x-cache']).toBe('hit-l1')
        expect((await patch(app, 21, { name: 'stored twenty-one' })).statusCode).toBe(200)
        expect((await get(app, '/items/21')).json()).toMatchObject({ name: 'stored twenty-one' })
        const list = await get(app, '/items?page=1&size=30')
        expect(list.headers['x-cache']).toBe('miss')
        expect((list.json() as { data: Json[] }).data).toContainEqual(
          expect.objectContaining({ id: 21, name: 'stored twenty-one' }),
        )
      })

      it('purges stored posts pages with the user tag', async () => {
        const url = '/users/3/posts'
        await get(app, url)
        expect((await get(app, url)).headers['x-cache']).toBe('hit-l1')
        await database.db
          .insertInto('posts')
          .values({ user_id: 3, title: 'stored post', body: 'b', created_at: new Date().toISOString() })
          .execute()
        await app.service.cache?.userChanged(3)
        const after = await get(app, url)
        expect(after.headers['x-cache']).toBe('miss')
        expect(JSON.stringify(after.json())).toContain('stored post')
      })

      it('rejects undeclared query parameters on cached routes, hit or miss', async () => {
        await get(app, '/items/22')
        expect((await get(app, '/items/22')).headers['x-cache']).toBe('hit-l1')
        expect((await get(app, '/items/22?debug=1')).statusCode).toBe(400)
      })
    })

    describe('diagnostics and other routes', () => {
      let app: ServiceApp

      beforeAll(async () => {
        app = await makeApp()
      })

      it('puts Server-Timing on responses, with the cache outcome', async () => {
        await get(app, '/items/30')
        const response = await get(app, '/items/30')
        const header = response.headers['server-timing'] as string
        expect(header).toMatch(/total;dur=/)
        expect(header).toMatch(/cache;desc="hit-l1"/)
      })

      it('serves /metrics with the token only, with cache counters from the service cache', async () => {
        await get(app, '/items/31')
        await get(app, '/items/31')
        expect((await get(app, '/metrics')).statusCode).toBe(401)
        const response = await get(app, '/metrics', { authorization: `Bearer ${METRICS_TOKEN}` })
        expect(response.statusCode).toBe(200)
        expect(response.body).toMatch(
          /hotpath_cache_requests_total\{tier="l1",namespace="root",result="hit"\} [1-9]/,
        )
        expect(response.body).toMatch(
          /hotpath_http_request_duration_seconds_count\{[^}]*route="\/items\/:id"/,
        )
      })

      it('serves the exports and the price statistics', async () => {
        const csv = await get(app, '/export/items.csv?columns=id,name')
        expect(csv.statusCode).toBe(200)
        expect(csv.body.split('\n')[0]).toContain('id')
        const stats = await get(app, '/stats/prices?mode=inline&rounds=5')
        expect(stats.statusCode).toBe(200)
        expect(stats.json()).toMatchObject({ count: expect.any(Number) })
      })

      it('turns everything off: no X-Cache, no Server-Timing, no /metrics', async () => {
        const bare = await makeApp({ CACHE: 'off', SERVER_TIMING: 'off', METRICS: 'off' })
        await get(bare, '/items/32')
        const second = await get(bare, '/items/32')
        expect(second.statusCode).toBe(200)
        expect(second.headers['x-cache']).toBeUndefined()
        expect(second.headers['server-timing']).toBeUndefined()
        expect(bare.service.cache).toBeUndefined()
        expect((await get(bare, '/metrics')).statusCode).toBe(404)
      })
    })
  })
})

/**
 * The race a response cache must not lose: a GET that read the row before a write and stores
 * after the write's invalidation. The stored response is dated from the request start, so the
 * invalidation already covers it and the next GET reads the new row.
 */
describe('HTTP response cache race with a concurrent write', () => {
  let testDb: TestDatabase
  let database: ServiceDatabase
  let app: ServiceApp
  let hold: Promise<void> | undefined
  let entered: () => void = () => {}

  beforeAll(async () => {
    testDb = await BACKENDS[0]!.create()
    const config = loadConfig({
      DATABASE_URL: testDb.url,
      LOG_LEVEL: 'silent',
      CACHE: 'off',
      HTTP_CACHE: 'on',
      BLOCKING_THRESHOLD_MS: '0',
    })
    database = await createDatabase(config.database, { migrate: true })
    await seedDatabase(database, SIZES)
    app = await buildApp(config, {
      database,
      plugins: [
        (instance) => {
          const inner = instance.service.repositories.items
          // Fault injection: a read that waits on a latch after it has read the row.
          const findById = async (id: number) => {
            const row = await inner.findById(id)
            if (hold !== undefined) {
              entered()
              await hold
            }
            return row
          }
          instance.service.repositories.items = new Proxy(inner, {
            get(target, property) {
              if (property === 'findById') return findById
              const value: unknown = Reflect.get(target, property, target)
              return typeof value === 'function' ? (value as () => unknown).bind(target) : value
            },
          })
        },
      ],
    })
    await app.ready()
  })

  afterAll(async () => {
    await app?.close()
    await database?.close()
    await testDb?.drop()
  })

  it('a GET that read the row before a write does not store the old body after it', async () => {
    let release: () => void = () => {}
    hold = new Promise<void>((resolve) => (release = resolve))
    const inside = new Promise<void>((resolve) => (entered = resolve))
    const slowRead = app.inject({ method: 'GET', url: '/items/50' })
    await inside
    hold = undefined
    const write = await app.inject({ method: 'PATCH', url: '/items/50', payload: { name: 'after the race' } })
    expect(write.statusCode).toBe(200)
    release()
    await slowRead
    const next = await app.inject({ method: 'GET', url: '/items/50' })
    expect(next.json()).toMatchObject({ name: 'after the race' })
  })
})

describe('fast lane (FAST_LANE=on) on a listening server', () => {
  let testDb: TestDatabase
  let app: ServiceApp
  let base: string

  beforeAll(async () => {
    testDb = await BACKENDS[0]!.create()
    const config = loadConfig({
      DATABASE_URL: testDb.url,
      LOG_LEVEL: 'silent',
      HTTP_CACHE: 'on',
      FAST_LANE: 'on',
      BLOCKING_THRESHOLD_MS: '0',
    })
    app = await buildApp(config)
    await seedDatabase(app.service.database, SIZES)
    await app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  })

  afterAll(async () => {
    await app?.close()
    await testDb?.drop()
  })

  it('answers stored public responses before routing, and still sees writes', async () => {
    const first = await request(`${base}/items/40`)
    expect(first.statusCode).toBe(200)
    const body = await first.body.text()
    const before = app.httpCache.stats().fastLaneHits
    const second = await request(`${base}/items/40`)
    expect(second.statusCode).toBe(200)
    expect(await second.body.text()).toBe(body)
    expect(app.httpCache.stats().fastLaneHits).toBe(before + 1)

    const write = await request(`${base}/items/40`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'fast lane forty' }),
    })
    expect(write.statusCode).toBe(200)
    await write.body.dump()
    const after = await request(`${base}/items/40`)
    expect(await after.body.json()).toMatchObject({ name: 'fast lane forty' })
  })

  it('never serves a private route from the fast lane', async () => {
    const headers = { authorization: `Bearer ${tokenForUser(SEED, 1)}` }
    const before = app.httpCache.stats().fastLaneHits
    for (let i = 0; i < 2; i++) {
      const response = await request(`${base}/me/balance`, { headers })
      expect(response.statusCode).toBe(200)
      await response.body.dump()
    }
    expect(app.httpCache.stats().fastLaneHits).toBe(before)
  })
})
