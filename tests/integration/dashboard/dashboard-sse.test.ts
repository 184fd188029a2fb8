/**
 * The dashboard in the reference service (SQLite in memory, memory-only cache): the admin token
 * guards the page, the event stream and profile downloads; `?token=` logs a browser in with a
 * session cookie; the event stream pushes samples whose figures follow the traffic, lists slow
 * queries, N+1 warnings and saved profiles, and stops sampling when the last client leaves.
 */

import Fastify from 'fastify'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { startDashboardService, type DashboardService } from './dashboard-service.js'
import { connectSse, until, type SseConnection } from './sse-client.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { dashboardPlugin } from '../../../src/fastify/dashboard/dashboard-plugin.js'
import type { DashboardSample } from '../../../src/fastify/dashboard/dashboard-sampler.js'
import type { RecentFindingsSnapshot } from '../../../src/fastify/dashboard/recent-findings.js'
import { metricsPlugin } from '../../../src/fastify/metrics.js'
import { publishDbQuery } from '../../../src/profiling/db-query-event.js'

const TOKEN = 'dashboard-test-admin-token'
const BEARER = { authorization: `Bearer ${TOKEN}` }

let service: DashboardService
let app: ServiceApp
let base: string
const open: SseConnection[] = []

beforeAll(async () => {
  service = await startDashboardService(TOKEN, 50)
  app = service.app
  base = service.base
})

afterAll(async () => {
  for (const connection of open) connection.close()
  await service?.close()
})

async function sse(headers: Record<string, string> = BEARER): Promise<SseConnection> {
  const connection = await connectSse(`${base}/_hotpath/events`, headers)
  open.push(connection)
  return connection
}

describe('dashboard access', () => {
  it('answers 401 in the error format without the admin token, on every dashboard route', async () => {
    for (const url of ['/_hotpath/', '/_hotpath/events', '/_hotpath/profiles/20261125T101500123Z-1a2b3c4d']) {
      const response = await app.inject({ url })
      expect(response.statusCode, url).toBe(401)
      expect(response.json().error.code).toBe('E_DASHBOARD_UNAUTHORIZED')
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/u)
    }
    const wrong = await app.inject({ url: '/_hotpath/', headers: { authorization: 'Bearer not-the-token' } })
    expect(wrong.statusCode).toBe(401)
  })

  it('logs a browser in with ?token= (HttpOnly SameSite=Strict cookie, redirect without the token)', async () => {
    const refused = await app.inject({ url: '/_hotpath/?token=wrong-token-value' })
    expect(refused.statusCode).toBe(401)
    expect(refused.headers['set-cookie']).toBeUndefined()

    const login = await app.inject({ url: `/_hotpath/?token=${TOKEN}` })
    expect(login.statusCode).toBe(303)
    expect(login.headers.location).toBe('/_hotpath/')
    const cookie = String(login.headers['set-cookie'])
    expect(cookie).toMatch(/; HttpOnly/u)
    expect(cookie).toMatch(/; SameSite=Strict/u)
    expect(cookie).toMatch(/; Path=\/_hotpath\//u)
    // The cookie is a derived session value, never the token itself.
    expect(cookie).not.toContain(TOKEN)

    const page = await app.inject({ url: '/_hotpath/', headers: { cookie: cookie.split(';')[0]! } })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/u)
    expect(page.headers['cache-control']).toBe('private, no-cache')
    expect(page.body).toMatch(/src="assets\/uPlot\.iife\.min\.[0-9a-f]{8}\.js"/u)
    expect(page.body).toMatch(/src="assets\/dashboard\.[0-9a-f]{8}\.js"/u)

    const forged = await app.inject({ url: '/_hotpath/', headers: { cookie: 'hotpath_dashboard=forged' } })
    expect(forged.statusCode).toBe(401)
  })

  it('accepts Authorization: Bearer and redirects /_hotpath to /_hotpath/', async () => {
    expect((await app.inject({ url: '/_hotpath/', headers: BEARER })).statusCode).toBe(200)
    const redirect = await app.inject({ url: '/_hotpath' })
    expect(redirect.statusCode).toBe(308)
    expect(redirect.headers.location).toBe('/_hotpath/')
  })

  it('refuses the event stream without the token', async () => {
    const refused = await sse({})
    expect(refused.statusCode).toBe(401)
  })
})

describe('dashboard event stream', () => {
  it('does not sample while nobody watches', () => {
    expect(app.hotpathDashboard.clients).toBe(0)
    expect(app.hotpathDashboard.sampling).toBe(false)
  })

  it('pushes hello, findings and samples whose figures follow the traffic', async () => {
    const stream = await sse()
    expect(stream.statusCode).toBe(200)
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/u)
    expect(stream.headers['cache-control']).toBe('no-store')
    const hello = (await stream.next((e) => e.event === 'hello')).data as Record<string, unknown>
    expect(hello).toMatchObject({ intervalMs: 1000, metrics: true, writeBehind: false, profiles: true })
    await stream.next((e) => e.event === 'findings')
    expect(app.hotpathDashboard.sampling).toBe(true)

    // Traffic: the same few items over and over, so the cache answers most lookups from L1.
    // Real HTTP over the socket, so the server's timers keep running while it is loaded.
    let stop = false
    const traffic = Promise.all(
      [0, 1, 2].map(async (worker) => {
        for (let i = worker; !stop; i++) {
          const response = await request(`${base}/items/${(i % 5) + 1}`)
          await response.body.dump()
        }
      }),
    )
    let sample: DashboardSample
    try {
      const event = await stream.next((e) => {
        const s = e.data as DashboardSample
        return e.event === 'sample' && (s.http?.rps ?? 0) > 0 && (s.cache?.hitRatio ?? 0) > 0.5
      }, 8_000)
      sample = event.data as DashboardSample
    } finally {
      stop = true
      await traffic
    }
    expect(sample.http!.p50Ms).toBeGreaterThan(0)
    expect(sample.http!.p99Ms).toBeGreaterThanOrEqual(sample.http!.p50Ms!)
    expect(sample.cache!.l1).toBeGreaterThan(0.5)
    expect(sample.cache!.l1! + sample.cache!.l2! + sample.cache!.miss!).toBeCloseTo(1, 2)
    expect(sample.cache!.namespaces.length).toBeGreaterThan(0)
    expect(sample.cache!.namespaces.some((ns) => ns.l1Hits > 0)).toBe(true)
    expect(sample.memory.heapUsedBytes).toBeGreaterThan(0)
    expect(sample.memory.rssBytes).toBeGreaterThan(sample.memory.heapUsedBytes / 2)
    expect(sample.eventLoop.maxMs).toBeGreaterThanOrEqual(sample.eventLoop.p99Ms)
    expect(sample.writeBehind).toBeNull()

    // Without traffic, the next samples fall back to zero requests per second.
    await stream.next((e) => e.event === 'sample' && (e.data as DashboardSample).http?.rps === 0, 5_000)
    stream.close()
    await until(() => app.hotpathDashboard.clients === 0 && !app.hotpathDashboard.sampling)
  })

  it('lists slow queries and N+1 warnings as they happen', async () => {
    const stream = await sse()
    await stream.next((e) => e.event === 'findings')
    publishDbQuery({ sql: "select * from items where name = 'secret'", durationMs: 75, dialect: 'sqlite' })
    const naive = await app.inject({ url: '/users?include=posts&strategy=naive&size=10' })
    expect(naive.statusCode).toBe(200)
    const findings = (
      await stream.next((e) => {
        const f = e.data as RecentFindingsSnapshot
        return e.event === 'findings' && f.slowQueries.length > 0 && f.nPlusOne.length > 0
      })
    ).data as RecentFindingsSnapshot
    expect(findings.slowQueries[0]).toMatchObject({ durationMs: 75, dialect: 'sqlite' })
    // Literals are redacted, as in the slow-query log.
    expect(findings.slowQueries[0]!.sql).not.toContain('secret')
    expect(findings.nPlusOne[0]!.route).toBe('GET /users')
    expect(findings.nPlusOne[0]!.count).toBeGreaterThan(5)
    expect(findings.nPlusOne[0]!.shape).toMatch(/posts/u)
    stream.close()
    await until(() => !app.hotpathDashboard.sampling)
  })

  it('lists saved CPU profiles and downloads them through the profiling routes', async () => {
    const profiled = await app.inject({ url: '/items/7?profile=1', headers: BEARER })
    const id = String(profiled.headers['x-hotpath-profile-id'])
    expect(id).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]{8}$/u)
    const stream = await sse()
    const listed = await stream.next(
      (e) => e.event === 'profiles' && (e.data as Array<{ id: string }>).some((p) => p.id === id),
    )
    expect((listed.data as Array<{ id: string; route?: string }>)[0]).toMatchObject({
      id,
      route: '/items/:id',
    })
    stream.close()

    const login = await app.inject({ url: `/_hotpath/?token=${TOKEN}` })
    const cookie = String(login.headers['set-cookie']).split(';')[0]!
    const download = await app.inject({ url: `/_hotpath/profiles/${id}`, headers: { cookie } })
    expect(download.statusCode).toBe(200)
    expect(download.headers['content-disposition']).toBe(`attachment; filename="${id}.cpuprofile"`)
    expect(download.json()).toHaveProperty('nodes')
    const missing = await app.inject({ url: '/_hotpath/profiles/not-an-id', headers: { cookie } })
    expect(missing.statusCode).toBe(404)
    expect(missing.json().error.code).toBe('E_PROFILE_NOT_FOUND')
  })

  it('shares one sampler between clients and stops it when the last one leaves', async () => {
    const first = await sse()
    const second = await sse()
    await first.next((e) => e.event === 'sample')
    await second.next((e) => e.event === 'sample')
    expect(app.hotpathDashboard.clients).toBe(2)
    first.close()
    await until(() => app.hotpathDashboard.clients === 1)
    expect(app.hotpathDashboard.sampling).toBe(true)
    await second.next((e) => e.event === 'sample')
    second.close()
    await until(() => app.hotpathDashboard.clients === 0)
    expect(app.hotpathDashboard.sampling).toBe(false)
  })
})

describe('dashboard plugin on its own', () => {
  it('validates its options, sends heartbeats, and closes the app while a stream is open', async () => {
    const bad = Fastify()
    await expect(bad.register(dashboardPlugin, { adminToken: 'short' }).ready()).rejects.toThrow(
      /adminToken/u,
    )
    await bad.close()

    const plain = Fastify()
    await plain.register(metricsPlugin)
    await plain.register(dashboardPlugin, { adminToken: TOKEN, prefix: '/ops', interval: 50, heartbeat: 60 })
    const url = await plain.listen({ port: 0, host: '127.0.0.1' })
    const stream = await connectSse(`${url}/ops/events`, BEARER)
    open.push(stream)
    const sample = (await stream.next((e) => e.event === 'sample')).data as DashboardSample
    expect(sample.writeBehind).toBeNull()
    expect(sample.cache?.hitRatio).toBeNull()
    await until(() => stream.comments.includes('heartbeat'))
    await plain.close()
    await expect(stream.next((e) => e.event === 'never')).rejects.toThrow(/ended/u)
    expect(plain.hotpathDashboard.sampling).toBe(false)
  })
})
