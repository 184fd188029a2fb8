/**
 * The shipped nginx configuration (deploy/nginx/hotpath.conf inside deploy/nginx/nginx.conf), run by
 * Debian's nginx on a loopback port in front of a real service app: nginx serves static files itself,
 * proxies the API over kept-alive upstream connections, and its optional response cache stores
 * public responses only — never `private` / `no-store` ones, Set-Cookie responses, or answers to
 * requests with credentials.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { dashboardAssetLocations } from '../../../src/fastify/dashboard/dashboard-assets.js'
import { buildAssets } from '../../../src/static/build-assets.js'
import { tokenForUser } from '../../../service/src/auth/token.js'
import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'

const NGINX = '/usr/sbin/nginx'
const DEPLOY_DIR = path.resolve(import.meta.dirname, '../../../deploy/nginx')
/** Loopback ports this file may use (brief H8). */
const PORT_RANGE = { first: 7700, last: 7799 }
const SEED = 5

const IN_CI = process.env.CI === 'true' || process.env.CI === '1'
const hasNginx = fs.existsSync(NGINX)
if (!hasNginx) {
  const message = `nginx is not installed at ${NGINX} (Debian package "nginx")`
  if (IN_CI) throw new Error(`${message}: CI=true requires it. Install it (see .ci/run).`)
  console.warn(`\n!!! SKIPPING the nginx deploy tests: ${message}. Set CI=true to make this a failure.\n`)
}

/** Replace one exact line fragment of the shipped config; a config that no longer has it fails loudly. */
function adapt(config: string, from: string, to: string): string {
  const count = config.split(from).length - 1
  if (count !== 1)
    throw new Error(`deploy/nginx/hotpath.conf: expected "${from}" once, found it ${count} times`)
  return config.replace(from, to)
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

interface Seen {
  /** Requests the service received, by URL. */
  urls: string[]
  /** TCP connections the service accepted. */
  connections: number
  /** Request headers of the last request, by URL. */
  headers: Map<string, Record<string, string | string[] | undefined>>
}

describe.runIf(hasNginx)('nginx in front of Hotpath (deploy/nginx)', () => {
  let tmp: string
  let database: ServiceDatabase
  let app: ServiceApp
  let nginx: ChildProcess | undefined
  let nginxLog = ''
  /** One hashed file per static location, from the asset build. */
  let built: Array<{ prefix: string; file: string }> = []
  let base: string
  const agent = new Agent({ connections: 4 })
  const seen: Seen = { urls: [], connections: 0, headers: new Map() }
  const countOf = (url: string) => seen.urls.filter((u) => u === url).length

  const get = async (url: string, headers: Record<string, string> = {}) => {
    const response = await request(`${base}${url}`, { dispatcher: agent, headers })
    const body = Buffer.from(await response.body.arrayBuffer())
    return { status: response.statusCode, headers: response.headers, body, text: body.toString() }
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-nginx-'))
    // Real output of Hotpath's asset build: an app's static dir (what STATIC_DIR builds into) and
    // the live dashboard's assets, with hashed names, .gz/.br variants and manifest.json.
    const appSources = path.join(tmp, 'app-src')
    fs.mkdirSync(appSources)
    fs.writeFileSync(
      path.join(appSources, 'app.js'),
      `console.log(${JSON.stringify('hotpath '.repeat(200))})\n`,
    )
    const assets = { app: path.join(tmp, 'app'), dashboard: path.join(tmp, 'dashboard') }
    const appManifest = await buildAssets({ sources: [{ dir: appSources }], outDir: assets.app })
    const dashboardManifest = await buildAssets({
      sources: dashboardAssetLocations().sources,
      outDir: assets.dashboard,
    })
    built = [
      { prefix: '/static/', file: appManifest.files['app.js']! },
      { prefix: '/_hotpath/assets/', file: dashboardManifest.files['dashboard.js']! },
    ]

    database = await createDatabase(
      { dialect: 'sqlite', filename: path.join(tmp, 'service.db') },
      { migrate: true },
    )
    await seedDatabase(database, { items: 20, users: 3, posts: 0, seed: SEED })
    const config = loadConfig({
      DATABASE_URL: `sqlite:${path.join(tmp, 'service.db')}`,
      LOG_LEVEL: 'silent',
      SEED: String(SEED),
    })
    app = await buildApp(config, {
      database,
      plugins: [
        (instance) => {
          instance.addHook('onRequest', (req, _reply, done) => {
            seen.urls.push(req.url)
            seen.headers.set(req.url, { ...req.headers })
            done()
          })
          // Responses nginx must never store even without credentials on the request. They carry a
          // public-looking lifetime, so only the rule under test keeps them out of the cache.
          const user = (req: { headers: Record<string, unknown> }) => String(req.headers['x-test-user'])
          instance.get('/_deploy/private', (req, reply) => {
            reply.header('cache-control', 'private, max-age=60').send({ user: user(req) })
          })
          instance.get('/_deploy/no-store', (req, reply) => {
            reply.header('cache-control', 'no-store, max-age=60').send({ user: user(req) })
          })
          // A large JSON body the service sends uncompressed (no HTTP cache config on the route).
          instance.get('/_deploy/big', (_req, reply) => {
            reply.send({ rows: Array.from({ length: 200 }, (_, n) => ({ n, name: `row ${n}` })) })
          })
          instance.get('/_deploy/cookie', (req, reply) => {
            reply
              .header('cache-control', 'public, max-age=60')
              .header('set-cookie', `session=${user(req)}; HttpOnly`)
              .send({ user: user(req) })
          })
        },
      ],
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    app.server.on('connection', () => seen.connections++)
    const upstream = (app.server.address() as { port: number }).port

    const shipped = fs.readFileSync(path.join(DEPLOY_DIR, 'hotpath.conf'), 'utf8')
    fs.copyFileSync(path.join(DEPLOY_DIR, 'nginx.conf'), path.join(tmp, 'nginx.conf'))
    // Workers run as `nobody` by default and could not read the private temp dir when we are root.
    const user = process.getuid?.() === 0 ? ' user root;' : ''
    for (let attempt = 0; attempt < 5 && nginx === undefined; attempt++) {
      const port = PORT_RANGE.first + Math.floor(Math.random() * (PORT_RANGE.last - PORT_RANGE.first + 1))
      let conf = adapt(shipped, 'listen 80;', `listen 127.0.0.1:${port};`)
      conf = adapt(conf, 'server 127.0.0.1:3000 ', `server 127.0.0.1:${upstream} `)
      conf = adapt(conf, 'alias /srv/hotpath/dist/assets/app/;', `alias ${assets.app}/;`)
      conf = adapt(conf, 'alias /srv/hotpath/dist/assets/dashboard/;', `alias ${assets.dashboard}/;`)
      conf = adapt(conf, 'proxy_cache_path /var/cache/nginx/hotpath ', `proxy_cache_path ${tmp}/cache `)
      fs.writeFileSync(path.join(tmp, 'hotpath.conf'), conf)
      nginxLog = ''
      const child = spawn(
        NGINX,
        ['-p', tmp, '-c', 'nginx.conf', '-e', 'stderr', '-g', `daemon off; pid ${tmp}/nginx.pid;${user}`],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      )
      child.stderr?.on('data', (chunk: Buffer) => (nginxLog += chunk.toString()))
      base = `http://127.0.0.1:${port}`
      const outcome = await until('nginx to listen', async () => {
        // Exits at once when the port is taken or the configuration is refused.
        if (child.exitCode !== null || child.signalCode !== null) return 'exited' as const
        const response = await request(`${base}/static/manifest.json`, {
          dispatcher: agent,
          headersTimeout: 1_000,
          bodyTimeout: 1_000,
        })
        await response.body.dump()
        return response.statusCode === 200 ? ('ready' as const) : undefined
      })
      if (outcome === 'ready') nginx = child
      else if (!/Address already in use/.test(nginxLog)) throw new Error(`nginx did not start:\n${nginxLog}`)
    }
    if (nginx === undefined)
      throw new Error(`no free port for nginx in ${PORT_RANGE.first}-${PORT_RANGE.last}`)
  }, 30_000)

  afterAll(async () => {
    await agent.close()
    const running = nginx
    if (running?.pid !== undefined && running.exitCode === null) {
      const exited = new Promise((resolve) => running.once('exit', resolve))
      process.kill(running.pid, 'SIGQUIT')
      await exited
    }
    await app?.close()
    await database?.close()
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('serves hashed static files itself, immutable, precompressed, without reaching the service', async () => {
    const before = seen.urls.length
    for (const { prefix, file } of built) {
      expect(file).toMatch(/\.[0-9a-f]{8}\.js$/)
      const plain = await get(`${prefix}${file}`)
      expect(plain.status).toBe(200)
      expect(plain.body.length).toBeGreaterThan(1024)
      expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable')
      expect(plain.headers['content-type']).toMatch(/javascript/)

      const gzip = await get(`${prefix}${file}`, { 'accept-encoding': 'gzip' })
      expect(gzip.headers['content-encoding']).toBe('gzip')
      expect(gzip.headers.vary).toMatch(/accept-encoding/i)
      expect(gzip.headers['cache-control']).toBe('public, max-age=31536000, immutable')
      expect(zlib.gunzipSync(gzip.body).toString()).toBe(plain.text)

      // Unhashed names are revalidated: no-cache with a validator, 304 on If-None-Match.
      const manifest = await get(`${prefix}manifest.json`)
      expect(manifest.status).toBe(200)
      expect(manifest.headers['cache-control']).toBe('no-cache')
      const etag = String(manifest.headers.etag)
      expect((await get(`${prefix}manifest.json`, { 'if-none-match': etag })).status).toBe(304)
      expect((await get(`${prefix}missing.0123abcd.js`)).status).toBe(404)
    }
    expect(seen.urls.length).toBe(before)
  })

  it('proxies the API over kept-alive upstream connections with X-Forwarded-For/Proto set by nginx', async () => {
    const connectionsBefore = seen.connections
    const requests = 20
    for (let i = 0; i < requests; i++) {
      const response = await get(`/items/${(i % 5) + 1}`, {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
      })
      expect(response.status).toBe(200)
      expect(JSON.parse(response.text)).toMatchObject({ id: (i % 5) + 1 })
      // `public, no-cache` items are revalidated at the origin on every use: nginx does not store them.
      expect(response.headers['x-cache-status']).toBe('MISS')
    }
    expect(countOf('/items/1')).toBe(requests / 5)
    // Without keep-alive every proxied request would open a connection of its own.
    expect(seen.connections - connectionsBefore).toBeLessThan(requests / 2)
    const headers = seen.headers.get('/items/1')
    // The client's own X-Forwarded-For is replaced, not appended to; X-Forwarded-Host is dropped.
    expect(headers?.['x-forwarded-for']).toBe('127.0.0.1')
    expect(headers?.['x-forwarded-proto']).toBe('http')
    expect(headers?.['x-forwarded-host']).toBeUndefined()
    expect(headers?.connection).not.toBe('close')
  })

  it('gzips JSON the service sent uncompressed, and never compresses twice', async () => {
    const direct = await app.inject({ url: '/_deploy/big', headers: { 'accept-encoding': 'gzip' } })
    expect(direct.headers['content-encoding']).toBeUndefined()
    const viaNginx = await get('/_deploy/big', { 'accept-encoding': 'gzip' })
    expect(viaNginx.headers['content-encoding']).toBe('gzip')
    expect(viaNginx.headers.vary).toMatch(/accept-encoding/i)
    expect(zlib.gunzipSync(viaNginx.body).toString()).toBe(direct.body)

    // Item lists are compressed by Hotpath itself; nginx passes them through as they are.
    const directList = await app.inject({ url: '/items?size=20', headers: { 'accept-encoding': 'gzip' } })
    expect(directList.headers['content-encoding']).toBe('gzip')
    const list = await get('/items?size=20', { 'accept-encoding': 'gzip' })
    expect(list.headers['content-encoding']).toBe('gzip')
    expect(JSON.parse(zlib.gunzipSync(list.body).toString()).data).toHaveLength(20)
  })

  it('serves a public cacheable response from its cache on the second request', async () => {
    const first = await get('/static-data')
    const second = await get('/static-data')
    expect(first.status).toBe(200)
    expect(first.headers['cache-control']).toMatch(/public/)
    expect(first.headers['x-cache-status']).toBe('MISS')
    expect(second.headers['x-cache-status']).toBe('HIT')
    expect(second.text).toBe(first.text)
    expect(countOf('/static-data')).toBe(1)
  })

  it("never serves one user's private response to another (GET /me/balance)", async () => {
    const balance = async (userId: number) => {
      const response = await get('/me/balance', { authorization: `Bearer ${tokenForUser(SEED, userId)}` })
      expect(response.status).toBe(200)
      expect(response.headers['cache-control']).toMatch(/private/)
      expect(response.headers['x-cache-status']).not.toBe('HIT')
      return JSON.parse(response.text) as { userId: number }
    }
    for (let round = 0; round < 2; round++) {
      expect((await balance(1)).userId).toBe(1)
      expect((await balance(2)).userId).toBe(2)
    }
    expect(countOf('/me/balance')).toBe(4)
    // No token is answered by the service (401), not by a stored copy of someone's balance.
    const anonymous = await get('/me/balance')
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers['x-cache-status']).not.toBe('HIT')
  })

  it('never stores private, no-store or Set-Cookie responses, even for requests without credentials', async () => {
    for (const url of ['/_deploy/private', '/_deploy/no-store', '/_deploy/cookie']) {
      const a = await get(url, { 'x-test-user': 'alice' })
      const b = await get(url, { 'x-test-user': 'bob' })
      expect(JSON.parse(a.text)).toEqual({ user: 'alice' })
      expect(JSON.parse(b.text)).toEqual({ user: 'bob' })
      expect(b.headers['x-cache-status']).not.toBe('HIT')
      expect(countOf(url)).toBe(2)
    }
  })

  it('does not answer a request with credentials from the cache', async () => {
    await get('/static-data')
    const withCookie = await get('/static-data', { cookie: 'session=abc' })
    expect(withCookie.headers['x-cache-status']).toBe('BYPASS')
    expect(countOf('/static-data')).toBe(2)
  })

  it('proxies exports through the streaming location (no shared cache)', async () => {
    for (let round = 0; round < 2; round++) {
      const csv = await get('/export/items.csv')
      expect(csv.status).toBe(200)
      expect(csv.headers['content-type']).toMatch(/text\/csv/)
      expect(csv.text.trim().split('\n')).toHaveLength(21)
      expect(csv.headers['x-cache-status']).toBeUndefined()
    }
    expect(countOf('/export/items.csv')).toBe(2)
  })

  it('keeps /metrics off the public edge', async () => {
    const before = countOf('/metrics')
    expect((await get('/metrics')).status).toBe(403)
    expect(countOf('/metrics')).toBe(before)
  })
})
