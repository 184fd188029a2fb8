import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { profilingPlugin } from '../../../src/fastify/profiling.js'
import { isCpuProfile, type ProfileSummary } from '../../../src/profiling/cpu-profile.js'

const TOKEN = 'integration-admin-token'
const bearer = { authorization: `Bearer ${TOKEN}` }

/** The function the profiled route is known to call; the test looks for it in the profile. */
function hotpathIntegrationBusyRoute(ms: number): number {
  const end = performance.now() + ms
  let x = 0
  while (performance.now() < end) x += Math.sqrt(x + 1)
  return x
}

function createLatch() {
  let release!: () => void
  let entered!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  const reached = new Promise<void>((resolve) => (entered = resolve))
  return { release, entered, released, reached }
}

async function buildApp(
  options: Parameters<typeof profilingPlugin>[1],
  latch?: ReturnType<typeof createLatch>,
) {
  const app = Fastify()
  await app.register(profilingPlugin, options)
  app.get('/work', async () => {
    hotpathIntegrationBusyRoute(60)
    return { ok: true, answer: 42 }
  })
  app.get('/latched', async () => {
    latch?.entered()
    await latch?.released
    return { latched: true }
  })
  await app.ready()
  return app
}

let dir: string
let app: FastifyInstance
let latch: ReturnType<typeof createLatch>

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hotpath-profiles-it-'))
  latch = createLatch()
  app = await buildApp({ enabled: true, adminToken: TOKEN, dir, blocking: false }, latch)
})
afterAll(async () => {
  await app.close()
  await rm(dir, { recursive: true, force: true })
})

describe('per-request CPU profile', () => {
  it('profiles an admin request, saves a valid .cpuprofile containing the route function, and answers as usual', async () => {
    // Profiled first: once the busy function is hot, V8 inlines it into the handler and the
    // profile attributes its time to the handler instead.
    const profiled = await app.inject({ url: '/work?profile=1', headers: bearer })
    const plain = await app.inject({ url: '/work' })
    expect(profiled.statusCode).toBe(200)
    expect(profiled.body).toBe(plain.body)
    const id = profiled.headers['x-hotpath-profile-id']
    expect(typeof id).toBe('string')

    const download = await app.inject({ url: `/debug/profiles/${id as string}`, headers: bearer })
    expect(download.statusCode).toBe(200)
    expect(download.headers['content-disposition']).toBe(`attachment; filename="${id as string}.cpuprofile"`)
    const profile: unknown = download.json()
    expect(isCpuProfile(profile)).toBe(true)
    if (!isCpuProfile(profile)) return
    expect(profile.nodes.length).toBeGreaterThan(1)
    expect(profile.samples.length).toBeGreaterThan(0)
    expect(profile.timeDeltas.length).toBe(profile.samples.length)
    expect(profile.nodes.some((node) => node.callFrame.functionName === 'hotpathIntegrationBusyRoute')).toBe(
      true,
    )

    const summary = await app.inject({
      url: `/debug/profiles/${id as string}/summary?top=100`,
      headers: bearer,
    })
    const body = summary.json() as {
      info: { route: string; kind: string }
      summary: ProfileSummary
    }
    expect(body.info).toMatchObject({ kind: 'request', route: '/work' })
    const row = body.summary.byTotal.find((r) => r.functionName === 'hotpathIntegrationBusyRoute')
    expect(row?.location).toMatch(/profiling-plugin\.test\.ts:\d+$/u)

    const text = await app.inject({
      url: `/debug/profiles/${id as string}/summary?format=text`,
      headers: bearer,
    })
    expect(text.headers['content-type']).toMatch(/^text\/plain/u)
    expect(text.body).toContain('Top functions by self time')

    const list = await app.inject({ url: '/debug/profiles', headers: bearer })
    expect((list.json() as { profiles: Array<{ id: string }> }).profiles.map((p) => p.id)).toContain(id)
  })

  it('also accepts the X-Hotpath-Profile header with the X-Hotpath-Admin-Token header', async () => {
    const response = await app.inject({
      url: '/work',
      headers: { 'x-hotpath-profile': '1', 'x-hotpath-admin-token': TOKEN },
    })
    expect(response.headers['x-hotpath-profile-id']).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]{8}$/u)
  })

  it('ignores the parameter without the right token: nothing profiled, identical response', async () => {
    const before = await readdir(dir)
    const plain = await app.inject({ url: '/work' })
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-xyz' },
      { 'x-hotpath-admin-token': 'nope' },
    ]) {
      const response = await app.inject({
        url: '/work?profile=1',
        headers: { ...headers, 'x-hotpath-profile': '1' },
      })
      expect(response.statusCode).toBe(plain.statusCode)
      expect(response.body).toBe(plain.body)
      expect(response.headers['x-hotpath-profile-id']).toBeUndefined()
      expect(Object.keys(response.headers).sort()).toEqual(Object.keys(plain.headers).sort())
    }
    expect(await readdir(dir)).toEqual(before)
  })

  it('answers 409 to a second profile request while one is running; unprofiled requests are unaffected', async () => {
    const first = app.inject({ url: '/latched?profile=1', headers: bearer })
    await latch.reached
    const second = await app.inject({ url: '/work?profile=1', headers: bearer })
    expect(second.statusCode).toBe(409)
    expect(second.headers['retry-after']).toBe('1')
    expect(second.json()).toEqual({ error: { code: 'E_PROFILER_BUSY', message: expect.any(String) } })
    const unprofiled = await app.inject({ url: '/work' })
    expect(unprofiled.statusCode).toBe(200)
    expect(unprofiled.headers['x-hotpath-profile-id']).toBeUndefined()
    latch.release()
    const done = await first
    expect(done.statusCode).toBe(200)
    expect(done.headers['x-hotpath-profile-id']).toBeDefined()
    // The profiler is free again.
    const third = await app.inject({ url: '/work?profile=1', headers: bearer })
    expect(third.headers['x-hotpath-profile-id']).toBeDefined()
  })
})

describe('debug routes', () => {
  it('look like unknown URLs without the token', async () => {
    const unknown = await app.inject({ url: '/no-such-route' })
    for (const url of ['/debug/profiles', '/debug/profiles/20261125T100915949Z-0badc0de']) {
      const response = await app.inject({ url, headers: { authorization: 'Bearer wrong' } })
      expect(response.statusCode).toBe(404)
      expect(response.json()).toMatchObject({ statusCode: 404, error: 'Not Found' })
      expect(Object.keys(response.json() as object)).toEqual(Object.keys(unknown.json() as object))
    }
    const post = await app.inject({ method: 'POST', url: '/debug/profile?duration=10ms' })
    expect(post.statusCode).toBe(404)
  })

  it('refuse ids that are not profile ids (no path traversal)', async () => {
    for (const id of ['..%2F..%2Fetc%2Fpasswd', '..%2Fsecret', '%2Fetc%2Fpasswd', 'x.cpuprofile']) {
      const response = await app.inject({ url: `/debug/profiles/${id}`, headers: bearer })
      expect(response.statusCode).toBe(404)
      expect((response.json() as { error: { code: string } }).error.code).toBe('E_PROFILE_NOT_FOUND')
    }
  })

  it('profile the whole process for a duration', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/debug/profile?duration=200ms',
      headers: bearer,
    })
    expect(response.statusCode).toBe(200)
    const body = response.json() as { info: { id: string; kind: string; durationMs: number } }
    expect(body.info).toMatchObject({ kind: 'process', durationMs: 200 })
    expect(response.headers['x-hotpath-profile-id']).toBe(body.info.id)
    const download = await app.inject({ url: `/debug/profiles/${body.info.id}`, headers: bearer })
    expect(isCpuProfile(download.json())).toBe(true)
  })

  it('reject bad durations with 400 and a JSON error', async () => {
    for (const [duration, code] of [
      ['soon', 'E_INVALID_OPTION'],
      ['1h', 'E_INVALID_QUERY'],
      ['0', 'E_INVALID_QUERY'],
    ] as const) {
      const response = await app.inject({
        method: 'POST',
        url: `/debug/profile?duration=${duration}`,
        headers: bearer,
      })
      expect(response.statusCode).toBe(400)
      expect((response.json() as { error: { code: string } }).error.code).toBe(code)
    }
  })
})

describe('when profiling is not enabled', () => {
  it('ignores the parameter and has no debug routes, even with a token', async () => {
    const disabledDir = await mkdtemp(path.join(tmpdir(), 'hotpath-profiles-off-'))
    const off = await buildApp({ adminToken: TOKEN, dir: disabledDir, blocking: false })
    try {
      const response = await off.inject({ url: '/work?profile=1', headers: bearer })
      expect(response.headers['x-hotpath-profile-id']).toBeUndefined()
      expect((await off.inject({ url: '/debug/profiles', headers: bearer })).statusCode).toBe(404)
      expect(await readdir(disabledDir)).toEqual([])
    } finally {
      await off.close()
      await rm(disabledDir, { recursive: true, force: true })
    }
  })

  it('refuses to enable profiling without an admin token', async () => {
    const bad = Fastify()
    await expect(bad.register(profilingPlugin, { enabled: true }).ready()).rejects.toThrow(/adminToken/u)
    await bad.close()
  })
})
