/**
 * The service's diagnostics defaults stay off AsyncLocalStorage (on Node 20 it hooks every promise
 * of the process, doubling the CPU of a cached item read): Server-Timing `on` sends `total` without
 * attributing channel events, the N+1 detector is opt-in; `SERVER_TIMING=full` brings the `db` and
 * `cache` entries back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { currentRequestContext } from '../../../src/profiling/request-context.js'
import { parseServerTiming } from '../../../src/profiling/server-timing.js'
import { createSqliteDatabase, type TestDatabase } from '../service/backends.js'

interface Built {
  app: ServiceApp
  /** Whether each request's preHandler ran inside a request context (AsyncLocalStorage). */
  inContext: boolean[]
}

describe('service diagnostics defaults', () => {
  let testDb: TestDatabase
  let database: ServiceDatabase
  const apps: ServiceApp[] = []

  beforeAll(async () => {
    testDb = await createSqliteDatabase()
    const config = loadConfig({ DATABASE_URL: testDb.url, LOG_LEVEL: 'silent' })
    database = await createDatabase(config.database, { migrate: true })
    await seedDatabase(database, { items: 50, users: 25, posts: 60, seed: 3 })
  })
  afterAll(async () => {
    for (const app of apps) await app.close()
    await database?.close()
    await testDb?.drop()
  })

  async function build(env: Record<string, string>): Promise<Built> {
    const inContext: boolean[] = []
    const config = loadConfig({ DATABASE_URL: testDb.url, LOG_LEVEL: 'silent', ...env })
    const app = await buildApp(config, {
      database,
      plugins: [
        (instance) => {
          instance.addHook('preHandler', (_request, _reply, done) => {
            inContext.push(currentRequestContext() !== undefined)
            done()
          })
        },
      ],
    })
    await app.ready()
    apps.push(app)
    return { app, inContext }
  }

  const timing = (header: unknown) => parseServerTiming(header as string)

  it('sends Server-Timing total without entering AsyncLocalStorage, and no N+1 detector by default', async () => {
    const { app, inContext } = await build({})
    const miss = await app.inject({ url: '/items/3' })
    const hit = await app.inject({ url: '/items/3' })
    expect(hit.statusCode).toBe(200)
    expect(hit.body).toBe(miss.body)
    // The in-memory hit is published synchronously in the handler: attributed without the context.
    expect(timing(hit.headers['server-timing']).find((entry) => entry.name === 'cache')?.description).toBe(
      'hit-l1',
    )
    for (const response of [miss, hit]) {
      const names = timing(response.headers['server-timing']).map((entry) => entry.name)
      expect(names.at(-1)).toBe('total')
      expect(names).not.toContain('db')
    }
    // (A cached hit may be answered before preHandler: at least the miss is seen.)
    expect(inContext.length).toBeGreaterThan(0)
    expect(inContext.every((entered) => !entered)).toBe(true)
    // The metrics endpoint still counts the request.
    const metrics = await app.inject({ url: '/metrics' })
    expect(metrics.body).toContain('route="/items/:id",status_code="200"')
  })

  it('SERVER_TIMING=full attributes the queries and the cache tier to each request', async () => {
    const { app, inContext } = await build({ SERVER_TIMING: 'full', N_PLUS_ONE_THRESHOLD: '10' })
    const miss = await app.inject({ url: '/items/4' })
    const hit = await app.inject({ url: '/items/4' })
    const missEntries = timing(miss.headers['server-timing'])
    expect(missEntries.find((entry) => entry.name === 'db')?.description).toBe('1 query')
    expect(missEntries.find((entry) => entry.name === 'cache')?.description).toMatch(/miss/u)
    const hitEntries = timing(hit.headers['server-timing'])
    expect(hitEntries.find((entry) => entry.name === 'db')).toBeUndefined()
    expect(hitEntries.find((entry) => entry.name === 'cache')?.description).toBe('hit-l1')
    expect(inContext.length).toBeGreaterThan(0)
    expect(inContext.every((entered) => entered)).toBe(true)
  })
})
