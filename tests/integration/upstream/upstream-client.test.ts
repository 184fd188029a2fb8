import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../../src/cache/create-cache.js'
import { redisStore } from '../../../src/cache/stores/redis/index.js'
import type { Cache } from '../../../src/cache/types.js'
import {
  createUpstreamClient,
  type UpstreamClient,
  type UpstreamClientOptions,
} from '../../../src/upstream/upstream-client.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import { TestUpstream, until } from './support/test-upstream.js'

/** Short configured ttl: the tests wait for it to pass (polling the clock, no fixed sleeps). */
const TTL = 250

let upstream: TestUpstream
const clients: UpstreamClient[] = []

function client(options: Partial<UpstreamClientOptions> = {}): UpstreamClient {
  const created = createUpstreamClient({ origin: upstream.origin, ttl: TTL, ...options })
  clients.push(created)
  return created
}

const json = (body: Buffer) => JSON.parse(body.toString('utf8')) as { currency: string; version: number }
const expired = (validatedAt: number, ttl = TTL) => until(() => Date.now() > validatedAt + ttl + 5)

beforeAll(async () => {
  upstream = new TestUpstream()
  await upstream.listen()
})

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  upstream.mode = 'ok'
  upstream.cacheControl = undefined
  await upstream.listen()
})

afterAll(async () => {
  await upstream.close()
})

describe('upstream client: caching and revalidation', () => {
  it('serves a fresh response from the cache, then revalidates with If-None-Match and keeps the body on 304', async () => {
    upstream.cacheControl = undefined
    const rates = client()
    const first = await rates.get('/rates/EUR')
    expect(first.source).toBe('fetched')
    expect(json(first.body)).toMatchObject({ currency: 'EUR', version: 1 })
    expect(first.etag).toBe('"r1"')
    expect(upstream.count('/rates/EUR')).toBe(1)

    const second = await rates.get('/rates/EUR')
    expect(second.source).toBe('hit')
    expect(upstream.count('/rates/EUR')).toBe(1)

    await expired(first.validatedAt)
    const third = await rates.get('/rates/EUR')
    expect(third.source).toBe('revalidated')
    expect(upstream.count('/rates/EUR')).toBe(2)
    expect(upstream.countConditional('/rates/EUR')).toBe(1)
    expect(third.body.equals(first.body)).toBe(true)
    expect(third.fetchedAt).toBe(first.fetchedAt)
    expect(third.validatedAt).toBeGreaterThan(first.validatedAt)

    // The 304 made the entry fresh again.
    expect((await rates.get('/rates/EUR')).source).toBe('hit')
    expect(upstream.count('/rates/EUR')).toBe(2)
  })

  it('downloads the new body when the representation changed (200 to the conditional request)', async () => {
    const rates = client()
    const first = await rates.get('/rates/USD')
    upstream.version = 2
    await expired(first.validatedAt)
    const second = await rates.get('/rates/USD')
    expect(second.source).toBe('fetched')
    expect(json(second.body).version).toBe(2)
    expect(second.etag).toBe('"r2"')
    expect(upstream.countConditional('/rates/USD')).toBe(1)
    upstream.version = 1
  })

  it("takes the freshness from the upstream's Cache-Control max-age over the configured ttl", async () => {
    upstream.cacheControl = 'max-age=1'
    const rates = client({ ttl: '1h' })
    const first = await rates.get('/rates/GBP')
    expect((await rates.get('/rates/GBP')).source).toBe('hit')
    await expired(first.validatedAt, 1_000)
    expect((await rates.get('/rates/GBP')).source).toBe('revalidated')
    expect(upstream.count('/rates/GBP')).toBe(2)
  })

  it('never stores a no-store response', async () => {
    upstream.cacheControl = 'no-store'
    const rates = client()
    expect((await rates.get('/rates/JPY')).source).toBe('fetched')
    expect((await rates.get('/rates/JPY')).source).toBe('fetched')
    expect(upstream.count('/rates/JPY')).toBe(2)
    expect(upstream.countConditional('/rates/JPY')).toBe(0)
  })

  it('makes one upstream call for 25 concurrent misses of one URL', async () => {
    const rates = client()
    const responses = await Promise.all(Array.from({ length: 25 }, () => rates.get('/rates/CHF')))
    expect(upstream.count('/rates/CHF')).toBe(1)
    for (const response of responses) expect(json(response.body).currency).toBe('CHF')
  })
})

describe('upstream client: failures', () => {
  it('serves the stale response within grace when the upstream is down, a typed error without one', async () => {
    const rates = client()
    const first = await rates.get('/rates/SEK')
    await expired(first.validatedAt)
    await upstream.close()
    const stale = await rates.get('/rates/SEK')
    expect(stale.source).toBe('stale')
    expect(stale.body.equals(first.body)).toBe(true)
    await expect(rates.get('/rates/NOK')).rejects.toMatchObject({
      code: 'E_UPSTREAM_UNAVAILABLE',
      statusCode: 502,
    })
    await upstream.listen()
    expect((await rates.get('/rates/NOK')).source).toBe('fetched')
  })

  it('serves stale on a 5xx, E_UPSTREAM_STATUS without a stored response, and never stale after grace', async () => {
    const rates = client({ grace: 300 })
    const first = await rates.get('/rates/DKK')
    await expired(first.validatedAt)
    upstream.mode = 'error'
    expect((await rates.get('/rates/DKK')).source).toBe('stale')
    await expect(rates.get('/rates/PLN')).rejects.toMatchObject({ code: 'E_UPSTREAM_STATUS', value: 503 })
    await expired(first.validatedAt, TTL + 300)
    await expect(rates.get('/rates/DKK')).rejects.toMatchObject({ code: 'E_UPSTREAM_STATUS' })
  })

  it('fails a slow upstream with E_UPSTREAM_TIMEOUT (headers) and a 504 status', async () => {
    upstream.mode = 'slow-headers'
    const rates = client({ headersTimeout: 150 })
    await expect(rates.get('/rates/CZK')).rejects.toMatchObject({
      code: 'E_UPSTREAM_TIMEOUT',
      phase: 'headers',
      statusCode: 504,
    })
  })

  it('fails a body that stalls with E_UPSTREAM_TIMEOUT (body)', async () => {
    upstream.mode = 'slow-body'
    const rates = client({ bodyTimeout: 150 })
    await expect(rates.get('/rates/RON')).rejects.toMatchObject({ code: 'E_UPSTREAM_TIMEOUT', phase: 'body' })
  })

  it('refuses a body above maxResponseSize and does not cache it', async () => {
    upstream.mode = 'huge'
    const rates = client({ maxResponseSize: 4_096 })
    await expect(rates.get('/rates/HUF')).rejects.toMatchObject({
      code: 'E_UPSTREAM_TOO_LARGE',
      limit: 4_096,
    })
    upstream.mode = 'ok'
    expect((await rates.get('/rates/HUF')).source).toBe('fetched')
    expect(upstream.count('/rates/HUF')).toBe(2)
  })

  it('rejects a bad origin and a relative path', () => {
    expect(() => createUpstreamClient({ origin: 'ftp://x' })).toThrow(/origin/)
    expect(() => createUpstreamClient({ origin: 'http://127.0.0.1:1/base' })).toThrow(/origin/)
    const rates = client()
    return expect(rates.get('rates/EUR')).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
  })
})

describe.runIf(hasRedis)('upstream client: shared Redis tier', () => {
  const caches: Cache[] = []
  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()))
  })

  it('a second instance sharing Redis serves the first one’s response without an upstream call', async () => {
    const prefix = `hpup${randomUUID().slice(0, 8)}`
    const shared = () => {
      const cache = createCache({ l2: redisStore({ url: REDIS_URL }), prefix })
      caches.push(cache)
      return cache
    }
    const a = client({ cache: shared(), ttl: '1m' })
    const b = client({ cache: shared(), ttl: '1m' })
    const first = await a.get('/rates/AUD')
    const second = await b.get('/rates/AUD')
    expect(first.source).toBe('fetched')
    expect(second.source).toBe('hit')
    expect(second.body.equals(first.body)).toBe(true)
    expect(second.etag).toBe('"r1"')
    expect(upstream.count('/rates/AUD')).toBe(1)
  })
})
