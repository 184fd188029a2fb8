import { randomUUID } from 'node:crypto'
import BetterSqlite3 from 'better-sqlite3'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WriteBehind } from '../../../src/cache/strategies/write-behind.js'
import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import type { ServiceDatabase } from '../../../service/src/db/create-database.js'
import type { Item } from '../../../service/src/items/schemas.js'
import {
  writeStrategyFromEnv,
  writeStrategySetup,
  type WriteStrategySetupOptions,
} from '../../../service/src/write-strategy/write-strategy-plugin.js'
import { hasPostgres, hasRedis, POSTGRES_URL, REDIS_URL } from '../../helpers/services.js'
import { BACKENDS, createTestDatabase, seedItems, type TestDatabase } from './support/databases.js'
import { TcpProxy } from './support/tcp-proxy.js'

const body = (name: string) => ({ name, category: 'c', price: 5, description: 'd' })

interface Instance {
  app: ServiceApp
  writes: WriteBehind<Item, number>
}

async function startInstance(
  database: ServiceDatabase,
  databaseUrl: string,
  prefix: string,
  options: WriteStrategySetupOptions['writeBehind'] = {},
  env: Record<string, string> = {},
): Promise<Instance> {
  let writes: WriteBehind<Item, number> | undefined
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    LOG_LEVEL: 'silent',
    CACHE: 'off',
    HTTP_CACHE: 'off',
    ...env,
  })
  const app = await buildApp(config, {
    database,
    plugins: [
      writeStrategySetup({
        strategy: 'behind',
        prefix,
        writeBehind: { block: 50, retryDelay: 10, maxRetryDelay: 100, drainTimeout: 10_000, ...options },
        onReady: (queue) => (writes = queue),
      }),
    ],
  })
  if (writes === undefined) throw new Error('write-behind did not start')
  return { app, writes }
}

describe('WRITE_STRATEGY', () => {
  it('defaults to through and rejects anything but through|behind', () => {
    expect(writeStrategyFromEnv({})).toBe('through')
    expect(writeStrategyFromEnv({ WRITE_STRATEGY: 'behind' })).toBe('behind')
    expect(() => writeStrategyFromEnv({ WRITE_STRATEGY: 'around' })).toThrow(/WRITE_STRATEGY/)
  })
})

for (const backend of BACKENDS) {
  describe.runIf(hasRedis && backend.available)(
    `service with WRITE_STRATEGY=behind on ${backend.dialect}`,
    () => {
      const prefix = `test:strategies:svc:${randomUUID().slice(0, 8)}`
      let target: TestDatabase
      let database: ServiceDatabase
      const admin = createClient({ url: REDIS_URL })
      const apps: ServiceApp[] = []

      beforeAll(async () => {
        await admin.connect()
        target = await createTestDatabase(backend.dialect)
        database = await target.open()
        await seedItems(database, 20)
      })

      afterAll(async () => {
        for (const app of apps) await app.close()
        await database?.close()
        await target?.drop()
        const keys = await admin.keys(`${prefix}*`)
        if (keys.length > 0) await admin.del(keys)
        admin.destroy()
      })

      async function instance(name: string, options: WriteStrategySetupOptions['writeBehind'] = {}) {
        const started = await startInstance(database, target.url, `${prefix}:${name}`, options)
        apps.push(started.app)
        return started
      }

      it('serves pending writes on every instance while the flusher is paused (read-your-writes)', async () => {
        const a = await instance('ryw', { flusher: false })
        const b = await instance('ryw', { flusher: false })
        const put = await a.app.inject({ method: 'PUT', url: '/items/1', payload: body('renamed') })
        expect(put.statusCode).toBe(200)
        expect(put.json()).toMatchObject({ id: 1, name: 'renamed', version: 2 })
        const patch = await b.app.inject({ method: 'PATCH', url: '/items/1', payload: { price: 77 } })
        expect(patch.json()).toMatchObject({ id: 1, name: 'renamed', price: 77, version: 3 })
        const seen = await a.app.inject({ method: 'GET', url: '/items/1' })
        expect(seen.json()).toMatchObject({ name: 'renamed', price: 77, version: 3 })
        const del = await b.app.inject({ method: 'DELETE', url: '/items/2' })
        expect(del.statusCode).toBe(204)
        expect((await a.app.inject({ method: 'GET', url: '/items/2' })).statusCode).toBe(404)
        expect(
          (await a.app.inject({ method: 'PUT', url: '/items/2', payload: body('revive') })).statusCode,
        ).toBe(404)
        // Lists overlay pending writes on their rows: item 1 at its pending version, item 2 (a pending
        // delete) left out, so this page is one short until the flush.
        const list = await a.app.inject({ method: 'GET', url: '/items?size=3' })
        expect(list.json().data.map((item: Item) => [item.id, item.version])).toEqual([
          [1, 3],
          [3, 1],
        ])
        const created = await b.app.inject({ method: 'POST', url: '/items', payload: body('new') })
        expect(created.statusCode).toBe(201)
        const id = created.json().id as number
        expect(id).toBeGreaterThan(20)
        expect((await a.app.inject({ method: 'GET', url: `/items/${id}` })).json()).toMatchObject({
          name: 'new',
          version: 1,
        })
        // Nothing reached the database yet.
        expect(
          (await database.db.selectFrom('items').selectAll().where('id', '=', 1).executeTakeFirst())?.version,
        ).toBe(1)

        await a.writes.flush()
        await b.writes.flush()
        const rows = await database.db
          .selectFrom('items')
          .select(['id', 'name', 'price', 'version'])
          .where('id', 'in', [1, 2, id])
          .orderBy('id')
          .execute()
        expect(rows).toEqual([
          { id: 1, name: 'renamed', price: 77, version: 3 },
          { id, name: 'new', price: 5, version: 1 },
        ])
        expect(await a.writes.read(1)).toBeUndefined()
      })

      it('answers 503 with Retry-After above maxPending and loses nothing', async () => {
        const a = await instance('full', { flusher: false, maxPending: 3 })
        const codes: number[] = []
        for (let i = 0; i < 4; i++) {
          codes.push(
            (await a.app.inject({ method: 'PUT', url: `/items/${10 + i}`, payload: body(`full ${i}`) }))
              .statusCode,
          )
        }
        expect(codes).toEqual([200, 200, 200, 503])
        const refused = await a.app.inject({ method: 'POST', url: '/items', payload: body('refused') })
        expect(refused.statusCode).toBe(503)
        expect(refused.headers['retry-after']).toBe('1')
        expect(refused.json()).toEqual({
          error: { code: 'E_WRITE_BEHIND_FULL', message: expect.stringContaining('maxPending') },
        })
        await a.writes.flush()
        const names = await database.db
          .selectFrom('items')
          .select('name')
          .where('id', 'in', [10, 11, 12, 13])
          .orderBy('id')
          .execute()
        expect(names.map((row) => row.name)).toEqual(['full 0', 'full 1', 'full 2', 'item 13'])
      })
    },
  )
}

describe.runIf(hasRedis)('write-behind while SQLite is locked by another connection', () => {
  const prefix = `test:strategies:lock:${randomUUID().slice(0, 8)}`
  let target: TestDatabase
  let database: ServiceDatabase
  let app: ServiceApp | undefined
  const admin = createClient({ url: REDIS_URL })

  beforeAll(async () => {
    await admin.connect()
    target = await createTestDatabase('sqlite')
    database = await target.open()
    await seedItems(database, 5)
    // The service waits 5 s on a lock (synchronously, in better-sqlite3); keep the retries short here.
    if (database.raw.dialect === 'sqlite') database.raw.sqlite.pragma('busy_timeout = 20')
  })

  afterAll(async () => {
    await app?.close()
    await database?.close()
    await target?.drop()
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length > 0) await admin.del(keys)
    admin.destroy()
  })

  it('accepts writes up to maxPending, then 503; flushes all of them once the lock is gone', async () => {
    const started = await startInstance(database, target.url, prefix, { maxPending: 10, batchSize: 4 })
    app = started.app
    const locker = new BetterSqlite3(target.url.slice('sqlite:'.length))
    locker.exec('BEGIN EXCLUSIVE')
    const accepted: Item[] = []
    let status = 0
    for (let i = 0; i < 12 && status !== 503; i++) {
      const response = await app.inject({ method: 'POST', url: '/items', payload: body(`locked ${i}`) })
      status = response.statusCode
      if (status === 201) accepted.push(response.json())
    }
    expect(status).toBe(503)
    expect(accepted).toHaveLength(10)
    await expect.poll(async () => (await started.writes.stats()).retries).toBeGreaterThan(0)
    expect((await started.writes.stats()).deadLetters).toBe(0)
    locker.exec('COMMIT')
    locker.close()
    await started.writes.flush()
    const rows = await database.db
      .selectFrom('items')
      .select(['id', 'name', 'version'])
      .where('id', '>', 5)
      .orderBy('id')
      .execute()
    expect(rows).toEqual(accepted.map(({ id, name, version }) => ({ id, name, version })))
  })
})

describe.runIf(hasRedis && hasPostgres)('write-behind while PostgreSQL refuses connections', () => {
  const prefix = `test:strategies:pgdown:${randomUUID().slice(0, 8)}`
  let target: TestDatabase
  let database: ServiceDatabase
  let app: ServiceApp | undefined
  let proxy: TcpProxy
  const admin = createClient({ url: REDIS_URL })

  beforeAll(async () => {
    await admin.connect()
    target = await createTestDatabase('postgres')
    const seeded = await target.open()
    await seedItems(seeded, 5)
    await seeded.close()
    const real = new URL(POSTGRES_URL)
    proxy = new TcpProxy(real.hostname, Number(real.port || 5432))
    await proxy.start()
    const viaProxy = new URL(target.url)
    viaProxy.host = `127.0.0.1:${proxy.port}`
    const { createDatabase } = await import('../../../service/src/db/create-database.js')
    database = await createDatabase(
      { dialect: 'postgres', connectionString: viaProxy.toString() },
      { migrate: false, poolSize: 2 },
    )
  })

  afterAll(async () => {
    await app?.close()
    await database?.close()
    await proxy?.cut()
    await target?.drop()
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length > 0) await admin.del(keys)
    admin.destroy()
  })

  it('accepts writes up to maxPending, then 503; flushes all of them when the database is back', async () => {
    const started = await startInstance(database, target.url, prefix, { maxPending: 10, batchSize: 4 })
    app = started.app
    await proxy.cut()
    const accepted: Item[] = []
    let status = 0
    for (let i = 0; i < 12 && status !== 503; i++) {
      const response = await app.inject({ method: 'POST', url: '/items', payload: body(`down ${i}`) })
      status = response.statusCode
      if (status === 201) accepted.push(response.json())
    }
    expect(status).toBe(503)
    expect(accepted).toHaveLength(10)
    await expect.poll(async () => (await started.writes.stats()).retries).toBeGreaterThan(0)
    expect((await started.writes.stats()).deadLetters).toBe(0)
    await proxy.start()
    await started.writes.flush()
    const rows = await database.db
      .selectFrom('items')
      .select(['id', 'name', 'version'])
      .where('id', '>', 5)
      .orderBy('id')
      .execute()
    expect(rows).toEqual(accepted.map(({ id, name, version }) => ({ id, name, version })))
  })
})
