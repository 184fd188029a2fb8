/**
 * RATE_LIMIT on the running service: per client address and per token, 429 in the service's
 * error format with Retry-After, health and metrics exempt, the budget shared through Redis by two
 * instances, counted in memory without Redis, and requests let through when Redis is unreachable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenForUser } from '../../../service/src/auth/token.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import {
  dropPrefix,
  redisClient,
  scanKeys,
  seededDatabase,
  serviceApp,
  SEED,
  uniquePrefix,
  type RedisClient,
  type SeededDatabase,
} from './support.js'

let db: SeededDatabase
const apps: ServiceApp[] = []

beforeAll(async () => {
  db = await seededDatabase()
})

afterAll(async () => {
  for (const app of apps.splice(0)) await app.close()
  await db?.close()
})

async function start(env: Record<string, string>): Promise<ServiceApp> {
  const app = await serviceApp(db, env)
  apps.push(app)
  return app
}

const get = (app: ServiceApp, url: string, remoteAddress: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, remoteAddress, headers })

function expectThrottled(response: Awaited<ReturnType<typeof get>>) {
  expect(response.statusCode).toBe(429)
  expect(response.json()).toEqual({
    error: { code: 'E_RATE_LIMITED', message: expect.stringContaining('Too many requests') },
  })
  expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  expect(response.headers['x-ratelimit-remaining']).toBe('0')
}

describe('rate limiting behind a trusted proxy (TRUST_PROXY)', () => {
  it('counts the forwarded client address only when the peer is a trusted proxy', async () => {
    const app = await start({ RATE_LIMIT: '1/1m', CACHE: 'off', TRUST_PROXY: '10.9.9.9' })
    const viaProxy = (client: string) => get(app, '/items/1', '10.9.9.9', { 'x-forwarded-for': client })
    // Two clients behind the same proxy each have their own budget.
    expect((await viaProxy('203.0.113.1')).statusCode).toBe(200)
    expect((await viaProxy('203.0.113.2')).statusCode).toBe(200)
    expectThrottled(await viaProxy('203.0.113.1'))
    // An untrusted peer cannot pick its address with the header: it is counted as itself.
    expect((await get(app, '/items/1', '10.0.0.77', { 'x-forwarded-for': '203.0.113.3' })).statusCode).toBe(
      200,
    )
    expectThrottled(await get(app, '/items/1', '10.0.0.77', { 'x-forwarded-for': '203.0.113.4' }))
  })
})

describe('rate limiting in memory (no REDIS_URL)', () => {
  let app: ServiceApp
  beforeAll(async () => {
    app = await start({ RATE_LIMIT: '3/1m', CACHE: 'off' })
  })

  it('answers 429 E_RATE_LIMITED with Retry-After once an address spends its budget', async () => {
    for (let i = 0; i < 3; i++) {
      const ok = await get(app, '/items/1', '10.0.0.1')
      expect(ok.statusCode).toBe(200)
      // Allowed responses carry no per-client counters (they may be stored and shared).
      expect(ok.headers['x-ratelimit-remaining']).toBeUndefined()
    }
    expectThrottled(await get(app, '/items/1', '10.0.0.1'))
    // Other routes count against the same address budget; 404s too.
    expectThrottled(await get(app, '/search/items?q=a', '10.0.0.1'))
    expectThrottled(await get(app, '/no/such/route', '10.0.0.1'))
    // Another address has its own budget.
    expect((await get(app, '/items/1', '10.0.0.2')).statusCode).toBe(200)
  })

  it('never limits /health and /metrics', async () => {
    for (let i = 0; i < 5; i++) expect((await get(app, '/items/2', '10.0.0.3')).statusCode).not.toBe(500)
    expectThrottled(await get(app, '/items/2', '10.0.0.3'))
    for (let i = 0; i < 5; i++) {
      expect((await get(app, '/health', '10.0.0.3')).statusCode).toBe(200)
      expect((await get(app, '/metrics', '10.0.0.3')).statusCode).toBe(200)
    }
  })

  it('counts a bearer token across addresses, and invented tokens do not escape the address budget', async () => {
    const token = tokenForUser(SEED, 1)
    const auth = { authorization: `Bearer ${token}` }
    for (let i = 0; i < 3; i++) {
      expect((await get(app, '/me/balance', `10.1.0.${i + 1}`, auth)).statusCode).toBe(200)
    }
    // A fresh address, but the token has spent its budget.
    expectThrottled(await get(app, '/me/balance', '10.1.0.9', auth))
    // A fresh token per request from one address: the address budget still applies.
    for (let i = 0; i < 3; i++) {
      const invented = { authorization: `Bearer ${String(i).padStart(64, 'f')}` }
      expect((await get(app, '/me/balance', '10.2.0.1', invented)).statusCode).toBe(401)
    }
    expectThrottled(await get(app, '/me/balance', '10.2.0.1', { authorization: `Bearer ${'e'.repeat(64)}` }))
  })

  it('is off by default: the same traffic is never throttled', async () => {
    const open = await start({ CACHE: 'off' })
    for (let i = 0; i < 20; i++) expect((await get(open, '/items/1', '10.9.9.9')).statusCode).toBe(200)
  })
})

describe.runIf(hasRedis)('rate limiting shared through Redis', () => {
  let client: RedisClient
  const prefix = uniquePrefix('rl')

  beforeAll(async () => {
    client = await redisClient(REDIS_URL)
  })

  afterAll(async () => {
    if (client) {
      await dropPrefix(client, prefix)
      await client.close()
    }
  })

  it('two instances on one Redis share one budget per address', async () => {
    const env = { RATE_LIMIT: '4/1m', REDIS_URL, CACHE_PREFIX: prefix, CACHE: 'off' }
    const a = await start(env)
    const b = await start(env)
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      statuses.push((await get(i % 2 === 0 ? a : b, '/items/1', '10.3.0.1')).statusCode)
    }
    expect(statuses).toEqual([200, 200, 200, 200])
    // Each instance alone has seen only two requests, yet both refuse the fifth and sixth.
    expectThrottled(await get(a, '/items/1', '10.3.0.1'))
    expectThrottled(await get(b, '/items/1', '10.3.0.1'))
    // The counter lives under the prefix, with an expiry, and holds no raw address of another client.
    const keys = await scanKeys(client, `${prefix}:rl:*`)
    expect(keys).toEqual([`${prefix}:rl:ip:10.3.0.1`])
    const ttl = await client.pTTL(keys[0] as string)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000)
  })

  it('stores token counters as digests, never the token', async () => {
    const env = { RATE_LIMIT: '100/1m', REDIS_URL, CACHE_PREFIX: prefix, CACHE: 'off' }
    const app = await start(env)
    const token = tokenForUser(SEED, 2)
    expect((await get(app, '/me/balance', '10.4.0.1', { authorization: `Bearer ${token}` })).statusCode).toBe(
      200,
    )
    const keys = await scanKeys(client, `${prefix}:rl:tok:*`)
    expect(keys).toHaveLength(1)
    expect(keys[0]).not.toContain(token.slice(0, 16))
  })

  it('lets requests through when Redis is unreachable (the limiter fails open)', async () => {
    const app = await start({ RATE_LIMIT: '1/1m', REDIS_URL: 'redis://127.0.0.1:1', CACHE: 'off' })
    for (let i = 0; i < 3; i++) expect((await get(app, '/items/1', '10.5.0.1')).statusCode).toBe(200)
  })
})
