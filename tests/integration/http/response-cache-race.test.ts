/**
 * The read-before-write race: a GET reads its data, a write changes the data and purges the path,
 * then the GET stores its (old) response. The stored response must not be served afterwards, on
 * this instance or on another one sharing Redis.
 */
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/index.js'
import { redisStore } from '../../../src/cache/stores/redis/index.js'
import type { Cache } from '../../../src/cache/types.js'
import { httpCache } from '../../../src/fastify/http-cache.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'

interface Latch {
  entered: Promise<void>
  release: () => void
}

/** Shared "database" plus a latch a read can wait on after it has read its row. */
class Rows {
  readonly names = new Map<string, string>([['1', 'before']])
  latch: (Latch & { enter: () => void; held: Promise<void> }) | undefined

  hold(): Latch {
    let enter: () => void = () => {}
    let release: () => void = () => {}
    const entered = new Promise<void>((resolve) => (enter = resolve))
    const held = new Promise<void>((resolve) => (release = resolve))
    this.latch = { entered, release, enter, held }
    return { entered, release }
  }

  async read(id: string): Promise<{ id: string; name: string | undefined }> {
    const row = { id, name: this.names.get(id) }
    const latch = this.latch
    if (latch !== undefined) {
      this.latch = undefined
      latch.enter()
      await latch.held
    }
    return row
  }
}

const apps: FastifyInstance[] = []
const caches: Cache[] = []

async function start(cache: Cache, rows: Rows): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(httpCache, { cache })
  app.get<{ Params: { id: string } }>(
    '/items/:id',
    { config: { httpCache: { policy: { scope: 'public', maxAge: '5m' } } } },
    async (request) => rows.read(request.params.id),
  )
  app.patch<{ Params: { id: string }; Body: { name: string } }>('/items/:id', async (request) => {
    rows.names.set(request.params.id, request.body.name)
    return { id: request.params.id, name: request.body.name }
  })
  await app.ready()
  apps.push(app)
  caches.push(cache)
  return app
}

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close()
  for (const cache of caches.splice(0)) await cache.close()
})

/** A GET on `reader` reads the row, a PATCH on `writer` lands, then the GET finishes and stores. */
async function race(reader: FastifyInstance, writer: FastifyInstance, rows: Rows): Promise<void> {
  const latch = rows.hold()
  const slow = reader.inject({ method: 'GET', url: '/items/1' })
  await latch.entered
  const write = await writer.inject({ method: 'PATCH', url: '/items/1', payload: { name: 'after' } })
  expect(write.statusCode).toBe(200)
  latch.release()
  const old = await slow
  // The racing GET itself answers what it read; only storing it would be wrong.
  expect(old.json()).toMatchObject({ name: 'before' })
}

describe('response cache read-before-write race', () => {
  it('memory cache: the next GET reads the new row', async () => {
    const rows = new Rows()
    const app = await start(createCache({ ttlJitter: 0 }), rows)
    await race(app, app, rows)
    const next = await app.inject({ method: 'GET', url: '/items/1' })
    expect(next.json()).toMatchObject({ name: 'after' })
    expect(next.headers['x-cache']).toBe('miss')
    // Once stored from the new row, it is a hit again.
    const hit = await app.inject({ method: 'GET', url: '/items/1' })
    expect(hit.json()).toMatchObject({ name: 'after' })
    expect(hit.headers['x-cache']).toBe('hit-l1')
  })

  it('an entry stored by a request that started after the purge is served', async () => {
    const rows = new Rows()
    const app = await start(createCache({ ttlJitter: 0 }), rows)
    await app.inject({ method: 'PATCH', url: '/items/1', payload: { name: 'after' } })
    // Invalidation times are compared with the request start at ms resolution: step past it.
    await new Promise((resolve) => setTimeout(resolve, 5))
    await app.inject({ method: 'GET', url: '/items/1' })
    const hit = await app.inject({ method: 'GET', url: '/items/1' })
    expect(hit.headers['x-cache']).toBe('hit-l1')
    expect(hit.json()).toMatchObject({ name: 'after' })
  })
})

describe.runIf(hasRedis)('response cache read-before-write race across instances (Redis)', () => {
  const prefixes: string[] = []
  const shared = () => {
    const prefix = `test-http-race-${randomBytes(4).toString('hex')}`
    prefixes.push(prefix)
    return () => createCache({ ttlJitter: 0, prefix, l2: redisStore({ url: REDIS_URL }) })
  }

  afterAll(async () => {
    for (const prefix of prefixes) {
      const cleanup = createCache({ prefix, l2: redisStore({ url: REDIS_URL }) })
      await cleanup.clear()
      await cleanup.close()
    }
  })

  it('a write on instance B purges what instance A stores after it, on both instances', async () => {
    const make = shared()
    const rows = new Rows()
    const a = await start(make(), rows)
    const b = await start(make(), rows)
    // Both instances know the path tag before the race (as a warm server would).
    await a.inject({ method: 'GET', url: '/items/1' })
    await b.inject({ method: 'GET', url: '/items/1' })
    await a.inject({ method: 'PATCH', url: '/items/1', payload: { name: 'before' } })
    await new Promise((resolve) => setTimeout(resolve, 5))

    await race(a, b, rows)
    // The purge reaches A's L1 over the coherence channel (milliseconds); without dating the
    // entry from the request start, both would serve 'before' until the 5-minute TTL.
    const nameOn = async (app: FastifyInstance) =>
      (await app.inject({ method: 'GET', url: '/items/1' })).json<{ name: string }>().name
    await expect.poll(() => nameOn(b), { timeout: 2_000 }).toBe('after')
    await expect.poll(() => nameOn(a), { timeout: 2_000 }).toBe('after')
  })
})
