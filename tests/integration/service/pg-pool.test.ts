/**
 * PostgreSQL pool limits through the real service: with every pooled connection held, a request
 * gets a 503 `E_DB_POOL_EXHAUSTED` with `Retry-After` instead of waiting for the connection; a
 * query longer than `DB_STATEMENT_TIMEOUT` is cancelled by the server and answered 504
 * `E_DB_STATEMENT_TIMEOUT`. A test-only route (added through buildApp's `plugins`) holds the
 * connection or runs `pg_sleep`.
 */
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { ConfigError } from '../../../service/src/errors.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { hasPostgres } from '../../helpers/services.js'
import { createPostgresDatabase, type TestDatabase } from './backends.js'

describe('pool limit variables', () => {
  it('parse durations and name the variable when one is bad', () => {
    const config = loadConfig({ DB_POOL_ACQUIRE_TIMEOUT: '250ms', DB_STATEMENT_TIMEOUT: '5s' })
    expect(config.dbPoolAcquireTimeout).toBe(250)
    expect(config.dbStatementTimeout).toBe(5_000)
    expect(loadConfig({}).dbStatementTimeout).toBeUndefined()
    expect(() => loadConfig({ DB_STATEMENT_TIMEOUT: 'soon' })).toThrow(ConfigError)
    expect(() => loadConfig({ DB_POOL_ACQUIRE_TIMEOUT: '-1s' })).toThrow(/DB_POOL_ACQUIRE_TIMEOUT/)
  })
})

describe.runIf(hasPostgres)('PostgreSQL pool limits', () => {
  let testDatabase: TestDatabase
  let database: ServiceDatabase
  let app: ServiceApp
  let held: () => void = () => {}
  let release: () => void = () => {}

  beforeAll(async () => {
    testDatabase = await createPostgresDatabase()
    const config = loadConfig({
      DATABASE_URL: testDatabase.url,
      DB_POOL_SIZE: '1',
      DB_POOL_ACQUIRE_TIMEOUT: '300ms',
      DB_STATEMENT_TIMEOUT: '200ms',
      CACHE: 'off',
      RATE_LIMIT: 'off',
      LOG_LEVEL: 'silent',
    })
    // Seeded without the limits: a busy machine must not make the seeding itself time out.
    const seeding = await createDatabase(config.database)
    try {
      await seedDatabase(seeding, { items: 5, users: 2, posts: 2, seed: 1 })
    } finally {
      await seeding.close()
    }
    database = await createDatabase(config.database, {
      poolSize: config.dbPoolSize,
      acquireTimeout: config.dbPoolAcquireTimeout,
      statementTimeout: config.dbStatementTimeout,
    })
    app = await buildApp(config, {
      database,
      plugins: [
        (instance) => {
          // Holds the only pooled connection until the test releases it.
          instance.get('/test/hold', async () => {
            await database.db.connection().execute(async () => {
              const released = new Promise<void>((resolve) => (release = resolve))
              held()
              await released
            })
            return { held: true }
          })
          // A long query exempt from the statement timeout, for the backend to be killed under.
          instance.get('/test/doomed', async () => {
            await database.db.transaction().execute(async (trx) => {
              await sql`set local statement_timeout = 0`.execute(trx)
              await sql`select pg_sleep(30) as doomed_query`.execute(trx)
            })
            return { slept: true }
          })
          instance.get('/test/sleep', async () => {
            await sql`select pg_sleep(5)`.execute(database.db)
            return { slept: true }
          })
        },
      ],
    })
  })

  afterAll(async () => {
    release()
    await app?.close()
    await database?.close()
    await testDatabase?.drop()
  })

  it('answers 503 E_DB_POOL_EXHAUSTED with Retry-After while every connection is held', async () => {
    const holding = new Promise<void>((resolve) => (held = resolve))
    const holder = app.inject({ method: 'GET', url: '/test/hold' })
    await holding
    // Answered while the connection is still held: the request did not wait for it.
    const refused = await app.inject({ method: 'GET', url: '/items/1' })
    expect(refused.statusCode).toBe(503)
    expect(refused.headers['retry-after']).toBe('1')
    expect(refused.json()).toMatchObject({ error: { code: 'E_DB_POOL_EXHAUSTED' } })
    expect(refused.json().error.message).toContain('DB_POOL_SIZE')
    release()
    expect((await holder).statusCode).toBe(200)
    const served = await app.inject({ method: 'GET', url: '/items/1' })
    expect(served.statusCode).toBe(200)
  })

  it('answers 504 E_DB_STATEMENT_TIMEOUT when a query outlives DB_STATEMENT_TIMEOUT', async () => {
    const response = await app.inject({ method: 'GET', url: '/test/sleep' })
    expect(response.statusCode).toBe(504)
    expect(response.json()).toMatchObject({ error: { code: 'E_DB_STATEMENT_TIMEOUT' } })
    // The connection went back to the pool in working order.
    expect((await app.inject({ method: 'GET', url: '/items/2' })).statusCode).toBe(200)
  })

  it('answers 503 E_DB_UNAVAILABLE with Retry-After when the database connection dies under a query', async () => {
    const admin = new pg.Client({ connectionString: testDatabase.url })
    await admin.connect()
    try {
      const doomed = app.inject({ method: 'GET', url: '/test/doomed' })
      // Kill the backend once the query runs: PostgreSQL ends it with 57P01 (admin shutdown).
      let killed = 0
      for (let attempt = 0; attempt < 200 && killed === 0; attempt++) {
        const result = await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity where query like '%doomed_query%' and pid <> pg_backend_pid()`,
        )
        killed = result.rowCount ?? 0
        if (killed === 0) await new Promise((resolve) => setTimeout(resolve, 25))
      }
      expect(killed).toBe(1)
      const response = await doomed
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBe('1')
      expect(response.json()).toMatchObject({ error: { code: 'E_DB_UNAVAILABLE' } })
      // The pool replaced the dead connection.
      expect((await app.inject({ method: 'GET', url: '/items/3' })).statusCode).toBe(200)
    } finally {
      await admin.end()
    }
  })
})
