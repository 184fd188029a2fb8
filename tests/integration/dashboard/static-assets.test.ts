/**
 * Static assets: the build writes content-hashed files with smaller `.br` / `.gz` variants and a
 * manifest, incrementally; the plugin serves them with immutable caching, picks the variant from
 * Accept-Encoding (with Vary), and answers revalidations with 304. The service serves STATIC_DIR
 * next to the dashboard's own assets.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'

import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import { IMMUTABLE_CACHE_CONTROL, staticAssets } from '../../../src/fastify/static-assets.js'
import { buildAssets, isHashedName, type AssetManifest } from '../../../src/static/build-assets.js'

const APP_JS = `export function greet(name) {\n  return 'hello ' + name\n}\n`.repeat(40)
const STYLE = `body { margin: 0; color: #222; }\n`.repeat(30)
const TINY = 'x'
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')

let dir: string
let source: string
let out: string
let manifest: AssetManifest
let app: FastifyInstance

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hotpath-static-'))
  source = path.join(dir, 'public')
  out = path.join(dir, 'out')
  await mkdir(path.join(source, 'img'), { recursive: true })
  await writeFile(path.join(source, 'app.js'), APP_JS)
  await writeFile(path.join(source, 'style.css'), STYLE)
  await writeFile(path.join(source, 'tiny.txt'), TINY)
  await writeFile(path.join(source, 'img', 'logo.png'), PNG)
  await writeFile(path.join(source, '.swap'), 'editor junk')
  app = Fastify()
  await app.register(staticAssets, {
    root: out,
    sources: [{ dir: source }],
    prefix: '/static/',
    onManifest: (built) => (manifest = built),
  })
  await app.ready()
})

afterAll(async () => {
  await app?.close()
  await rm(dir, { recursive: true, force: true })
})

const url = (logical: string) => `/static/${manifest.files[logical]}`

describe('buildAssets', () => {
  it('writes content-hashed names, a manifest, and .br/.gz only where they are smaller', async () => {
    expect(manifest.files['app.js']).toMatch(/^app\.[0-9a-f]{8}\.js$/u)
    expect(manifest.files['img/logo.png']).toMatch(/^img\/logo\.[0-9a-f]{8}\.png$/u)
    expect(Object.keys(manifest.files).sort()).toEqual(['app.js', 'img/logo.png', 'style.css', 'tiny.txt'])
    expect(JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'))).toEqual(manifest)
    const appFile = path.join(out, manifest.files['app.js']!)
    expect(await readFile(appFile, 'utf8')).toBe(APP_JS)
    expect(brotliDecompressSync(await readFile(`${appFile}.br`)).toString()).toBe(APP_JS)
    expect(gunzipSync(await readFile(`${appFile}.gz`)).toString()).toBe(APP_JS)
    // A one-byte file compresses to more than one byte; a PNG is not text.
    await expect(stat(path.join(out, `${manifest.files['tiny.txt']}.br`))).rejects.toThrow()
    await expect(stat(path.join(out, `${manifest.files['img/logo.png']}.gz`))).rejects.toThrow()
    expect(isHashedName(manifest.files['app.js']!)).toBe(true)
    expect(isHashedName('manifest.json')).toBe(false)
  })

  it('is incremental: unchanged files are not rewritten, a changed file gets a new name', async () => {
    const appFile = path.join(out, manifest.files['app.js']!)
    const before = (await stat(appFile)).mtimeMs
    const again = await buildAssets({ sources: [{ dir: source }], outDir: out })
    expect(again).toEqual(manifest)
    expect((await stat(appFile)).mtimeMs).toBe(before)

    const other = path.join(dir, 'other')
    await mkdir(other)
    await writeFile(path.join(other, 'app.js'), `${APP_JS}// v2\n`)
    const changed = await buildAssets({ sources: [{ dir: other }], outDir: path.join(dir, 'out2') })
    expect(changed.files['app.js']).not.toBe(manifest.files['app.js'])
  })
})

describe('staticAssets', () => {
  it('serves hashed names as immutable, with Vary: Accept-Encoding, ETag and Last-Modified', async () => {
    const response = await app.inject({ url: url('app.js') })
    expect(response.statusCode).toBe(200)
    expect(response.headers['cache-control']).toBe(IMMUTABLE_CACHE_CONTROL)
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(String(response.headers.vary).toLowerCase()).toContain('accept-encoding')
    expect(response.headers.etag).toBeTruthy()
    expect(response.headers['last-modified']).toBeTruthy()
    expect(response.headers['content-type']).toMatch(/javascript/u)
    // Without Accept-Encoding: identity.
    expect(response.headers['content-encoding']).toBeUndefined()
    expect(response.body).toBe(APP_JS)
  })

  it('chooses .br for "br, gzip", .gz for "gzip", identity otherwise', async () => {
    const br = await app.inject({ url: url('app.js'), headers: { 'accept-encoding': 'br, gzip' } })
    expect(br.headers['content-encoding']).toBe('br')
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(APP_JS)
    expect(br.headers['content-type']).toMatch(/javascript/u)
    expect(br.headers['cache-control']).toBe(IMMUTABLE_CACHE_CONTROL)
    expect(String(br.headers.vary).toLowerCase()).toContain('accept-encoding')

    const gz = await app.inject({ url: url('app.js'), headers: { 'accept-encoding': 'gzip' } })
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gz.rawPayload).toString()).toBe(APP_JS)
    expect(String(gz.headers.vary).toLowerCase()).toContain('accept-encoding')

    const identity = await app.inject({ url: url('app.js'), headers: { 'accept-encoding': 'identity' } })
    expect(identity.headers['content-encoding']).toBeUndefined()
    expect(identity.body).toBe(APP_JS)
    expect(String(identity.headers.vary).toLowerCase()).toContain('accept-encoding')

    // No variant written (not smaller): the original, even to a client that takes br.
    const tiny = await app.inject({ url: url('tiny.txt'), headers: { 'accept-encoding': 'br, gzip' } })
    expect(tiny.headers['content-encoding']).toBeUndefined()
    expect(tiny.body).toBe(TINY)
  })

  it('answers 304 to If-None-Match and to If-Modified-Since', async () => {
    for (const encoding of [undefined, 'br, gzip']) {
      const headers: Record<string, string> = encoding === undefined ? {} : { 'accept-encoding': encoding }
      const first = await app.inject({ url: url('style.css'), headers })
      const etag = String(first.headers.etag)
      const byEtag = await app.inject({
        url: url('style.css'),
        headers: { ...headers, 'if-none-match': etag },
      })
      expect(byEtag.statusCode).toBe(304)
      expect(byEtag.body).toBe('')
      const lastModified = String(first.headers['last-modified'])
      const byDate = await app.inject({
        url: url('style.css'),
        headers: { ...headers, 'if-modified-since': lastModified },
      })
      expect(byDate.statusCode).toBe(304)
      const stale = await app.inject({
        url: url('style.css'),
        headers: { ...headers, 'if-none-match': '"other"' },
      })
      expect(stale.statusCode).toBe(200)
    }
  })

  it('revalidates the manifest (no-cache) and never serves dotfiles or unknown names', async () => {
    const manifestResponse = await app.inject({ url: '/static/manifest.json' })
    expect(manifestResponse.statusCode).toBe(200)
    expect(manifestResponse.headers['cache-control']).toBe('public, no-cache')
    expect((await app.inject({ url: '/static/.swap' })).statusCode).toBe(404)
    expect((await app.inject({ url: '/static/app.js' })).statusCode).toBe(404)
    expect((await app.inject({ url: '/static/../public/app.js' })).statusCode).toBeGreaterThanOrEqual(400)
  })
})

describe('in the service', () => {
  it('serves STATIC_DIR under /static/ next to the dashboard assets', async () => {
    const service = await buildApp(
      loadConfig({
        DATABASE_URL: 'sqlite::memory:',
        LOG_LEVEL: 'silent',
        ADMIN_TOKEN: 'static-assets-admin-token',
        STATIC_DIR: source,
        STATIC_OUT_DIR: path.join(dir, 'service-out'),
      }),
    )
    try {
      const response = await service.inject({ url: url('app.js'), headers: { 'accept-encoding': 'gzip' } })
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-encoding']).toBe('gzip')
      expect(response.headers['cache-control']).toBe(IMMUTABLE_CACHE_CONTROL)
      const page = await service.inject({
        url: '/_hotpath/',
        headers: { authorization: 'Bearer static-assets-admin-token' },
      })
      const uplot = /src="assets\/(uPlot\.iife\.min\.[0-9a-f]{8}\.js)"/u.exec(page.body)?.[1]
      const asset = await service.inject({
        url: `/_hotpath/assets/${uplot}`,
        headers: { 'accept-encoding': 'br, gzip' },
      })
      expect(asset.statusCode).toBe(200)
      expect(asset.headers['content-encoding']).toBe('br')
      expect(asset.headers['cache-control']).toBe(IMMUTABLE_CACHE_CONTROL)
    } finally {
      await service.close()
    }
  })

  it('has no dashboard without ADMIN_TOKEN, and refuses DASHBOARD=on without it', async () => {
    const service = await buildApp(loadConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent' }))
    try {
      expect((await service.inject({ url: '/_hotpath/' })).statusCode).toBe(404)
    } finally {
      await service.close()
    }
    expect(() => loadConfig({ DASHBOARD: 'on' })).toThrow(/ADMIN_TOKEN/u)
  })
})
