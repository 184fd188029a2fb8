/**
 * The profiling plugins wired into the real reference service, on every database backend: the
 * N+1 detector flags `strategy=naive` and not `strategy=batched`, Server-Timing counts the real
 * queries, per-request profiles pass the service's strict query validation, and the stats endpoint
 * reads prices from the service's database.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { statsPlugin } from '../../../service/src/stats/stats-plugin.js'
import { metricsPlugin } from '../../../src/fastify/metrics.js'
import { profilingPlugin } from '../../../src/fastify/profiling.js'
import { serverTimingPlugin } from '../../../src/fastify/server-timing.js'
import { parseServerTiming } from '../../../src/profiling/server-timing.js'
import { BACKENDS, type TestDatabase } from '../service/backends.js'

const TOKEN = 'service-admin-token'

describe.each(BACKENDS)('profiling in the service on $name', (backend) => {
  describe.runIf(backend.enabled)('', () => {
    let testDb: TestDatabase
    let database: ServiceDatabase
    let app: ServiceApp
    let profiles: string

    beforeAll(async () => {
      testDb = await backend.create()
      profiles = await mkdtemp(path.join(tmpdir(), 'hotpath-svc-profiles-'))
      const config = loadConfig({ DATABASE_URL: testDb.url, LOG_LEVEL: 'silent' })
      database = await createDatabase(config.database, { migrate: true })
      await seedDatabase(database, { items: 200, users: 30, posts: 90, seed: 7 })
      app = await buildApp(config, {
        database,
        ignoredQueryParams: ['profile'],
        plugins: [
          async (instance) => {
            await instance.register(serverTimingPlugin)
            await instance.register(metricsPlugin)
            await instance.register(profilingPlugin, {
              enabled: true,
              adminToken: TOKEN,
              dir: profiles,
              nPlusOne: { threshold: 10, header: true },
              blocking: false,
            })
            await instance.register(statsPlugin, { maxThreads: 1 })
          },
        ],
      })
      await app.ready()
    })
    afterAll(async () => {
      await app?.close()
      await database?.close()
      await testDb?.drop()
      await rm(profiles, { recursive: true, force: true })
    })

    it('flags strategy=naive as N+1 and not strategy=batched, with identical answers', async () => {
      const naive = await app.inject({ url: '/users?include=posts&strategy=naive&size=20' })
      const batched = await app.inject({ url: '/users?include=posts&strategy=batched&size=20' })
      expect(naive.statusCode).toBe(200)
      expect(naive.json()).toEqual(batched.json())
      expect(naive.headers['x-hotpath-n-plus-one']).toMatch(/^20x select .*"posts".* = \?/u)
      expect(batched.headers['x-hotpath-n-plus-one']).toBeUndefined()
      const db = (response: typeof naive) =>
        parseServerTiming(response.headers['server-timing'] as string).find((entry) => entry.name === 'db')
      // 1 page query (+ a count or look-ahead the repository may add) and 20 per-user queries.
      expect(Number(db(naive)?.description?.split(' ')[0])).toBeGreaterThanOrEqual(21)
      expect(Number(db(batched)?.description?.split(' ')[0])).toBeLessThanOrEqual(3)
    })

    it('puts Server-Timing with the real query count on an item read', async () => {
      const response = await app.inject({ url: '/items/1' })
      expect(response.statusCode).toBe(200)
      const entries = parseServerTiming(response.headers['server-timing'] as string)
      expect(entries.find((entry) => entry.name === 'db')?.description).toBe('1 query')
      expect(entries.at(-1)?.name).toBe('total')
    })

    it('profiles a service route for an admin and answers exactly as without profiling', async () => {
      const plain = await app.inject({ url: '/items/2' })
      const profiled = await app.inject({
        url: '/items/2?profile=1',
        headers: { authorization: `Bearer ${TOKEN}` },
      })
      expect(profiled.statusCode).toBe(200)
      expect(profiled.body).toBe(plain.body)
      expect(profiled.headers['x-hotpath-profile-id']).toBeDefined()
      const anonymous = await app.inject({ url: '/items/2?profile=1' })
      expect(anonymous.body).toBe(plain.body)
      expect(anonymous.headers['x-hotpath-profile-id']).toBeUndefined()
    })

    it('computes price statistics over every item from the database, inline and pooled alike', async () => {
      const inline = await app.inject({ url: '/stats/prices?mode=inline&rounds=10' })
      const pooled = await app.inject({ url: '/stats/prices?mode=pooled&rounds=10' })
      expect(inline.statusCode).toBe(200)
      const { mode: _a, ...inlineStats } = inline.json() as Record<string, unknown>
      const { mode: _b, ...pooledStats } = pooled.json() as Record<string, unknown>
      expect(inlineStats).toEqual(pooledStats)
      expect(inlineStats.count).toBe(200)
    })

    it('counts the service queries in /metrics', async () => {
      const response = await app.inject({ url: '/metrics' })
      expect(response.statusCode).toBe(200)
      expect(response.body).toMatch(
        new RegExp(
          `hotpath_db_queries_total\\{dialect="${backend.name}",operation="select",outcome="ok"\\} [1-9]`,
          'u',
        ),
      )
      expect(response.body).toContain('route="/users",status_code="200"')
    })
  })
})
