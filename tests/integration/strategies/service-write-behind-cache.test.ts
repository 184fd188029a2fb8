import { randomUUID } from 'node:crypto'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WriteBehind } from '../../../src/cache/strategies/write-behind.js'
import { buildApp } from '../../../service/src/app.js'
import { itemEtag } from '../../../service/src/cache/service-cache.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import type { ServiceDatabase } from '../../../service/src/db/create-database.js'
import type { Item } from '../../../service/src/items/schemas.js'
import {
  writeStrategySetup,
  type WriteStrategySetupOptions,
} from '../../../service/src/write-strategy/write-strategy-plugin.js'
import { hasRedis, REDIS_URL } from '../../helpers/services.js'
import { createTestDatabase, seedItems, type TestDatabase } from './support/databases.js'

/**
 * WRITE_STRATEGY=behind with the data cache on (memory L1 + Redis L2): every item read asks the
 * queue first, so instance B never answers from its L1 a value older than a write instance A
 * acknowledged, and the flusher invalidates cached lists once per batch.
 */

const body = (name: string) => ({ name, category: 'c', price: 5, description: 'd' })
const ids = (response: { json(): { data: Item[] } }) =>
  response.json().data.map((item) => [item.id, item.version])

async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe.runIf(hasRedis)('service write-behind with the data cache on (SQLite)', () => {
  const run = randomUUID().slice(0, 8)
  const queuePrefix = `test:strategies:wbc:${run}`
  let target: TestDatabase
  let database: ServiceDatabase
  const apps: ServiceApp[] = []
  const admin = createClient({ url: REDIS_URL })

  beforeAll(async () => {
    await admin.connect()
    target = await createTestDatabase('sqlite')
    database = await target.open()
    await seedItems(database, 20)
  })

  afterAll(async () => {
    for (const app of apps) await app.close()
    await database?.close()
    await target?.drop()
    for (const pattern of [`${queuePrefix}*`, `hpwbc${run}*`]) {
      const keys = await admin.keys(pattern)
      if (keys.length > 0) await admin.del(keys)
    }
    admin.destroy()
  })

  async function instance(
    queue: string,
    cachePrefix: string,
    options: WriteStrategySetupOptions['writeBehind'] = {},
  ): Promise<{ app: ServiceApp; writes: WriteBehind<Item, number> }> {
    let writes: WriteBehind<Item, number> | undefined
    const config = loadConfig({
      DATABASE_URL: target.url,
      REDIS_URL,
      LOG_LEVEL: 'silent',
      CACHE: 'on',
      CACHE_PREFIX: `hpwbc${run}${cachePrefix}`,
      SERVER_TIMING: 'off',
    })
    const app = await buildApp(config, {
      database,
      plugins: [
        writeStrategySetup({
          strategy: 'behind',
          prefix: `${queuePrefix}:${queue}`,
          writeBehind: { block: 50, retryDelay: 10, drainTimeout: 10_000, ...options },
          onReady: (queued) => (writes = queued),
        }),
      ],
    })
    apps.push(app)
    if (writes === undefined) throw new Error('write-behind did not start')
    return { app, writes }
  }

  it("reads a write acknowledged by another instance at once, whatever that instance's cache holds", async () => {
    // Two caches that never hear of each other (different prefixes, so no coherence message can
    // reach B): only asking the queue can make B see A's writes.
    const a = await instance('ryw', 'a', { flusher: false })
    const b = await instance('ryw', 'b', { flusher: false })
    for (const url of ['/items/1', '/items/1', '/items/3', '/items?size=3', '/items?size=3']) {
      expect((await b.app.inject({ url })).statusCode).toBe(200)
    }
    expect((await b.app.inject({ url: '/items/1' })).headers['x-cache']).toBe('hit-l1')

    const put = await a.app.inject({ method: 'PUT', url: '/items/1', payload: body('renamed') })
    expect(put.json()).toMatchObject({ name: 'renamed', version: 2 })
    const read = await b.app.inject({ url: '/items/1' })
    expect(read.json()).toMatchObject({ id: 1, name: 'renamed', version: 2 })
    expect(read.headers['x-cache']).toBe('pending')
    expect(read.headers.etag).toBe(itemEtag(read.json()))
    // A conditional read with the new ETag is a 304 on B too.
    const revalidated = await b.app.inject({
      url: '/items/1',
      headers: { 'if-none-match': read.headers.etag },
    })
    expect(revalidated.statusCode).toBe(304)

    expect((await a.app.inject({ method: 'DELETE', url: '/items/2' })).statusCode).toBe(204)
    expect((await b.app.inject({ url: '/items/2' })).statusCode).toBe(404)
    // B's cached list page overlays the pending writes: item 1 at version 2, item 2 gone.
    const list = await b.app.inject({ url: '/items?size=3' })
    expect(list.headers['x-cache']).toBe('hit-l1')
    expect(ids(list)).toEqual([
      [1, 2],
      [3, 1],
    ])

    // A partial PATCH on B merges into A's pending write, not into B's cached copy of item 3.
    await a.app.inject({ method: 'PATCH', url: '/items/3', payload: { price: 77 } })
    const patched = await b.app.inject({ method: 'PATCH', url: '/items/3', payload: { name: 'merged' } })
    expect(patched.json()).toMatchObject({ id: 3, name: 'merged', price: 77, version: 3 })

    await a.writes.flush()
    await b.writes.flush()
    const rows = await database.db
      .selectFrom('items')
      .select(['id', 'name', 'price', 'version'])
      .where('id', 'in', [1, 2, 3])
      .orderBy('id')
      .execute()
    expect(rows).toEqual([
      { id: 1, name: 'renamed', price: 5, version: 2 },
      { id: 3, name: 'merged', price: 77, version: 3 },
    ])
  })

  it('with one shared cache, serves the new value before and after the flush, and the flush refreshes lists', async () => {
    // No running flusher (pause() would not stop a blocking read already waiting): A's flush() below
    // flushes on the spot.
    const a = await instance('shared', 'shared', { flusher: false })
    const b = await instance('shared', 'shared', { flusher: false })
    const pageFromDatabase = async () =>
      (
        await database.db
          .selectFrom('items')
          .select(['id', 'version'])
          .orderBy('id')
          .limit(3)
          .offset(3)
          .execute()
      ).map((row) => [row.id, row.version])
    for (const url of ['/items/5', '/items/5', '/items?size=3&page=2', '/items?size=3&page=2']) {
      await b.app.inject({ url })
    }
    const put = await a.app.inject({ method: 'PUT', url: '/items/5', payload: body('five') })
    expect(put.json().version).toBe(2)
    expect((await b.app.inject({ url: '/items/5' })).json()).toMatchObject({ name: 'five', version: 2 })
    expect((await pageFromDatabase()).find(([id]) => id === 5)).toEqual([5, 1])
    await a.writes.flush()
    expect(await a.writes.read(5)).toBeUndefined()
    // The queue no longer knows the write: B answers from its cache, which holds the new row.
    await until(async () => {
      const read = await b.app.inject({ url: '/items/5' })
      return read.json().version === 2 && read.headers['x-cache'] !== 'pending'
    })
    // The page that was cached before the write is read again after the flush's list invalidation.
    await until(async () => {
      const list = await b.app.inject({ url: '/items?size=3&page=2' })
      return JSON.stringify(ids(list)) === JSON.stringify(await pageFromDatabase())
    })
  })

  it('exposes the queue in /metrics: pending writes, lag and flushed counter', async () => {
    const a = await instance('metrics', 'metrics', { flusher: false })
    await a.app.inject({ method: 'PUT', url: '/items/7', payload: body('seven') })
    await a.app.inject({ method: 'PUT', url: '/items/8', payload: body('eight') })
    const before = (await a.app.inject({ url: '/metrics' })).body
    expect(before).toMatch(/^hotpath_write_behind_pending\{queue="items"\} 2$/m)
    expect(before).toMatch(/^hotpath_write_behind_lag_seconds\{queue="items"\} \d/m)
    expect(before).toMatch(/^hotpath_write_behind_dead_letters\{queue="items"\} 0$/m)
    await a.writes.flush()
    const after = (await a.app.inject({ url: '/metrics' })).body
    expect(after).toMatch(/^hotpath_write_behind_pending\{queue="items"\} 0$/m)
    expect(after).toMatch(/^hotpath_write_behind_flushed_total\{queue="items"\} 2$/m)
  })
})
