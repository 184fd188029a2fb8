/**
 * The profiler (`?profile=1`, `X-Hotpath-Profile: 1`), the profile admin routes and `/metrics`
 * refuse unauthenticated calls and accept the right token, with the response cache on.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServiceApp } from '../../../service/src/context.js'
import { seededDatabase, serviceApp, type SeededDatabase } from './support.js'

const ADMIN = 'admin-token-0123456789abcdef'
const METRICS = 'metrics-token-0123456789abcdef'
const WRONG = 'wrong-token-0123456789abcdefgh'

describe('authentication of the profiler, admin routes and /metrics', () => {
  let db: SeededDatabase
  let app: ServiceApp
  let profilesDir: string

  beforeAll(async () => {
    db = await seededDatabase()
    profilesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-sec-profiles-'))
    app = await serviceApp(db, {
      PROFILING: 'on',
      ADMIN_TOKEN: ADMIN,
      PROFILES_DIR: profilesDir,
      METRICS_TOKEN: METRICS,
      HTTP_CACHE: 'on',
    })
  })

  afterAll(async () => {
    await app?.close()
    await db?.close()
    if (profilesDir) fs.rmSync(profilesDir, { recursive: true, force: true })
  })

  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers })
  const savedProfiles = () => fs.readdirSync(profilesDir).filter((name) => name.endsWith('.cpuprofile'))

  describe('/metrics with METRICS_TOKEN', () => {
    it.each([
      ['no credentials', {}],
      ['a wrong token', { authorization: `Bearer ${WRONG}` }],
      ['the admin token', { authorization: `Bearer ${ADMIN}` }],
      ['the token without Bearer', { authorization: METRICS }],
      ['Basic auth', { authorization: `Basic ${Buffer.from(`x:${METRICS}`).toString('base64')}` }],
    ])('answers 401 E_METRICS_UNAUTHORIZED to %s', async (_label, headers) => {
      const response = await get('/metrics', headers)
      expect(response.statusCode).toBe(401)
      expect(response.json().error.code).toBe('E_METRICS_UNAUTHORIZED')
      expect(response.headers['www-authenticate']).toMatch(/^Bearer/)
      expect(response.body).not.toContain('http_request')
    })

    it('answers the scrape with the right token, and never serves it to the next anonymous caller', async () => {
      const ok = await get('/metrics', { authorization: `Bearer ${METRICS}` })
      expect(ok.statusCode).toBe(200)
      expect(ok.headers['content-type']).toMatch(/^text\/plain/)
      expect(ok.body).toContain('# TYPE')
      expect((await get('/metrics')).statusCode).toBe(401)
    })
  })

  describe('?profile=1 with ADMIN_TOKEN', () => {
    it.each([
      ['no credentials', {}],
      ['a wrong token', { authorization: `Bearer ${WRONG}` }],
      ['the metrics token', { authorization: `Bearer ${METRICS}` }],
      ['a wrong admin header', { 'x-hotpath-admin-token': WRONG }],
    ])('does not profile a request with %s (it is served as a normal request)', async (_label, headers) => {
      const before = savedProfiles().length
      const viaQuery = await get('/items/1?profile=1', headers)
      const viaHeader = await get('/items/2', { ...headers, 'x-hotpath-profile': '1' })
      for (const response of [viaQuery, viaHeader]) {
        expect(response.statusCode).toBe(200)
        expect(response.headers['x-hotpath-profile-id']).toBeUndefined()
      }
      expect(savedProfiles()).toHaveLength(before)
    })

    it('profiles a request that sends the admin token, and the next anonymous request gets no profile id', async () => {
      const profiled = await get('/items/3?profile=1', { authorization: `Bearer ${ADMIN}` })
      expect(profiled.statusCode).toBe(200)
      const id = profiled.headers['x-hotpath-profile-id']
      expect(id).toEqual(expect.any(String))
      const anonymous = await get('/items/3?profile=1')
      expect(anonymous.statusCode).toBe(200)
      expect(anonymous.headers['x-hotpath-profile-id']).toBeUndefined()
      expect(anonymous.json()).toEqual(profiled.json())
    })
  })

  describe('profile admin routes (/debug/…)', () => {
    const routes = [
      ['GET', '/debug/profiles'],
      ['GET', '/debug/profiles/anything'],
      ['GET', '/debug/profiles/anything/summary'],
      ['POST', '/debug/profile?duration=100ms'],
    ] as const

    it.each(routes)(
      '%s %s refuses anonymous and wrong-token calls as an unknown route',
      async (method, url) => {
        for (const headers of [
          {},
          { authorization: `Bearer ${WRONG}` },
          { 'x-hotpath-admin-token': METRICS },
        ]) {
          const response = await app.inject({ method, url, headers })
          // Deliberately a 404, not a 401/403: the admin surface does not reveal that it exists.
          expect(response.statusCode).toBe(404)
          expect(response.json().error.code).toBe('E_ROUTE_NOT_FOUND')
          expect(response.json()).not.toHaveProperty('profiles')
        }
      },
    )

    it('lists profiles for the admin token (bearer or X-Hotpath-Admin-Token)', async () => {
      const ways: Record<string, string>[] = [
        { authorization: `Bearer ${ADMIN}` },
        { 'x-hotpath-admin-token': ADMIN },
      ]
      for (const headers of ways) {
        const response = await get('/debug/profiles', headers)
        expect(response.statusCode).toBe(200)
        expect(response.json().profiles.length).toBeGreaterThan(0)
      }
    })
  })
})
