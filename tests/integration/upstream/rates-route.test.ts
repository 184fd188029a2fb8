import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { TestUpstream } from './support/test-upstream.js'

const ENV = { DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', METRICS: 'off', SERVER_TIMING: 'off' }

let upstream: TestUpstream
let app: ServiceApp

beforeAll(async () => {
  upstream = new TestUpstream()
  upstream.cacheControl = 'max-age=60'
  await upstream.listen()
  app = await buildApp(loadConfig({ ...ENV, UPSTREAM_URL: upstream.origin }))
})

afterAll(async () => {
  await app?.close()
  await upstream.close()
})

describe('GET /rates/:currency', () => {
  it("answers the upstream's body, then the cached copy without an upstream call", async () => {
    const first = await app.inject({ method: 'GET', url: '/rates/EUR' })
    expect(first.statusCode).toBe(200)
    expect(first.headers['x-cache']).toBe('fetched')
    expect(first.headers['content-type']).toMatch(/^application\/json/)
    expect(first.json()).toMatchObject({ currency: 'EUR', version: 1 })
    const second = await app.inject({ method: 'GET', url: '/rates/EUR' })
    expect(second.headers['x-cache']).toBe('hit')
    expect(second.body).toBe(first.body)
    expect(upstream.count('/rates/EUR')).toBe(1)
  })

  it('rejects a malformed currency with a 400 before any upstream call', async () => {
    const response = await app.inject({ method: 'GET', url: '/rates/eur' })
    expect(response.statusCode).toBe(400)
    expect(response.json().error.code).toBe('E_VALIDATION')
    expect(upstream.count('/rates/eur')).toBe(0)
  })

  it('maps an upstream 404 to a 404 and an unreachable upstream to a 502 with its code', async () => {
    const missing = await app.inject({ method: 'GET', url: '/rates/ZZZ' })
    expect(missing.statusCode).toBe(404)
    expect(missing.json().error.code).toBe('E_NOT_FOUND')
    await upstream.close()
    try {
      const down = await app.inject({ method: 'GET', url: '/rates/GBP' })
      expect(down.statusCode).toBe(502)
      expect(down.json().error.code).toBe('E_UPSTREAM_UNAVAILABLE')
      // A stored answer is still served while the upstream is down (fresh here).
      expect((await app.inject({ method: 'GET', url: '/rates/EUR' })).statusCode).toBe(200)
    } finally {
      await upstream.listen()
    }
  })

  it('does not exist without UPSTREAM_URL, and a bad UPSTREAM_URL is a config error', async () => {
    const bare = await buildApp(loadConfig(ENV))
    try {
      expect((await bare.inject({ method: 'GET', url: '/rates/EUR' })).statusCode).toBe(404)
    } finally {
      await bare.close()
    }
    expect(() => loadConfig({ ...ENV, UPSTREAM_URL: 'http://127.0.0.1:1/rates' })).toThrow(/UPSTREAM_URL/)
  })
})
