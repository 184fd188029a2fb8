/**
 * The seams later work plugs into (setup steps, repository wrappers, ignored query parameters) and
 * the failure paths, by fault injection: a repository that throws, a database that is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fp from 'fastify-plugin'
import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { createSqliteDatabase, type TestDatabase } from './backends.js'

let testDb: TestDatabase
let database: ServiceDatabase
const apps: ServiceApp[] = []

beforeAll(async () => {
  testDb = await createSqliteDatabase()
  database = await createDatabase(loadConfig({ DATABASE_URL: testDb.url }).database)
  await seedDatabase(database, { items: 20, users: 2, posts: 4, seed: 1 })
})

afterAll(async () => {
  for (const app of apps) await app.close()
  await database.close()
  await testDb.drop()
})

async function app(options: Parameters<typeof buildApp>[1], url = testDb.url): Promise<ServiceApp> {
  const built = await buildApp(loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' }), options)
  apps.push(built)
  return built
}

describe('buildApp seams', () => {
  it('runs setup steps before the routes: a plugin hook and a repository wrapper both apply', async () => {
    const reads: number[] = []
    const service = await app({
      database,
      plugins: [
        async (instance) => {
          await instance.register(
            fp(async (scoped) => {
              scoped.addHook('onSend', async (_request, reply) => {
                reply.header('x-seam', 'yes')
              })
            }),
          )
        },
        (instance) => {
          const inner = instance.service.repositories.items
          instance.service.repositories.items = Object.assign(Object.create(inner) as typeof inner, {
            findById: (id: number) => {
              reads.push(id)
              return inner.findById(id)
            },
          })
        },
      ],
    })
    const response = await service.inject({ method: 'GET', url: '/items/3' })
    expect(response.statusCode).toBe(200)
    expect(response.headers['x-seam']).toBe('yes')
    expect(reads).toEqual([3])
    expect(service.service.database.dialect).toBe('sqlite')
  })

  it('accepts ignored query parameters on every route, and only those', async () => {
    const service = await app({ database, ignoredQueryParams: ['profile'] })
    expect((await service.inject({ method: 'GET', url: '/items/1?profile=1' })).statusCode).toBe(200)
    expect((await service.inject({ method: 'GET', url: '/items?size=2&profile=1' })).statusCode).toBe(200)
    expect((await service.inject({ method: 'GET', url: '/items/1?trace=1' })).statusCode).toBe(400)
  })
})

describe('failures', () => {
  it('an unexpected error is a generic 500 that leaks nothing', async () => {
    const service = await app({
      database,
      plugins: [
        (instance) => {
          instance.service.repositories.items = Object.assign(
            Object.create(instance.service.repositories.items),
            {
              findById: () => Promise.reject(new Error('secret connection string postgres://admin:pw@db')),
            },
          )
        },
      ],
    })
    const response = await service.inject({ method: 'GET', url: '/items/1' })
    expect(response.statusCode).toBe(500)
    expect(response.json()).toEqual({ error: { code: 'E_INTERNAL', message: 'Internal server error.' } })
    expect(response.body).not.toContain('secret')
  })

  it('GET /health answers 503 when the database is gone', async () => {
    const own = await createSqliteDatabase()
    try {
      const service = await app({}, own.url)
      expect((await service.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200)
      await service.service.database.close()
      const response = await service.inject({ method: 'GET', url: '/health' })
      expect(response.statusCode).toBe(503)
      expect((response.json() as { error: { code: string } }).error.code).toBe('E_UNHEALTHY')
    } finally {
      await own.drop()
    }
  })

  it('close() lets an in-flight request finish, then refuses new connections', async () => {
    let started!: () => void
    const inFlight = new Promise<void>((resolve) => (started = resolve))
    let finish!: () => void
    const gate = new Promise<void>((resolve) => (finish = resolve))
    const own = await createSqliteDatabase()
    try {
      const service = await buildApp(loadConfig({ DATABASE_URL: own.url, LOG_LEVEL: 'silent' }), {
        plugins: [
          (instance) => {
            instance.get('/slow', async () => {
              started()
              await gate
              return { done: true }
            })
          },
        ],
      })
      const url = await service.listen({ port: 0, host: '127.0.0.1' })
      const slow = fetch(`${url}/slow`).then(async (response) => ({
        status: response.status,
        body: await response.json(),
      }))
      await inFlight
      const closing = service.close()
      // Give close() time to stop listening and drop idle sockets before the request completes.
      await new Promise((resolve) => setTimeout(resolve, 100))
      finish()
      expect(await slow).toEqual({ status: 200, body: { done: true } })
      await closing
      await expect(fetch(`${url}/health`)).rejects.toThrow()
    } finally {
      await own.drop()
    }
  })

  it('an app that opens its own database closes it on app.close()', async () => {
    const own = await createSqliteDatabase()
    try {
      const service = await buildApp(loadConfig({ DATABASE_URL: own.url, LOG_LEVEL: 'silent' }))
      const { raw } = service.service.database
      await service.close()
      expect(raw.dialect === 'sqlite' && raw.sqlite.open).toBe(false)
    } finally {
      await own.drop()
    }
  })
})
