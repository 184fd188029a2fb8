import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../../service/src/app.js'
import type { ServiceApp } from '../../../service/src/context.js'
import { loadConfig } from '../../../service/src/config.js'
import { createDatabase, type ServiceDatabase } from '../../../service/src/db/create-database.js'
import { seedDatabase } from '../../../service/src/seed.js'
import { DedicatedRedis } from '../cache/helpers.js'
import { BACKENDS, type TestDatabase } from '../service/backends.js'

const SIZES = { items: 20, users: 3, posts: 6, seed: 7 }

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`never happened: ${what}`)
}

// Item writes commit to the database first; a Redis that is down or frozen at that moment must
// neither fail the request nor leave the old item in L2 for other instances once Redis is back.
describe('item writes while the service cache cannot reach Redis', () => {
  const redis = new DedicatedRedis()
  let testDb: TestDatabase
  let database: ServiceDatabase
  const apps: ServiceApp[] = []

  async function makeApp(): Promise<ServiceApp> {
    const config = loadConfig({
      DATABASE_URL: testDb.url,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'silent',
      BLOCKING_THRESHOLD_MS: '0',
    })
    const app = await buildApp(config, { database })
    apps.push(app)
    await app.ready()
    return app
  }

  beforeAll(async () => {
    await redis.start()
    testDb = await BACKENDS[0]!.create()
    database = await createDatabase(loadConfig({ DATABASE_URL: testDb.url }).database, { migrate: true })
    await seedDatabase(database, SIZES)
  })

  afterAll(async () => {
    redis.signal('SIGCONT')
    for (const app of apps) await app.close()
    await database?.close()
    await testDb?.drop()
    await redis.kill()
  })

  it('answers the write, serves the new item, and no instance reads the old one after Redis returns', async () => {
    const writer = await makeApp()
    const warm = await writer.inject({ method: 'GET', url: '/items/5' })
    expect(warm.statusCode).toBe(200)
    expect(warm.json().name).not.toBe('written during the outage')

    redis.signal('SIGSTOP')
    const write = await writer.inject({
      method: 'PATCH',
      url: '/items/5',
      headers: { 'content-type': 'application/json' },
      payload: { name: 'written during the outage' },
    })
    expect(write.statusCode).toBe(200)
    expect(write.json().name).toBe('written during the outage')
    const own = await writer.inject({ method: 'GET', url: '/items/5' })
    expect(own.statusCode).toBe(200)
    expect(own.json().name).toBe('written during the outage')

    redis.signal('SIGCONT')
    // A fresh instance has no L1: it reads L2 (or the database). The old item must not come back.
    const reader = await makeApp()
    await until(async () => {
      const read = await reader.inject({ method: 'GET', url: '/items/5' })
      return read.statusCode === 200 && read.json().name === 'written during the outage'
    }, 'a second instance reads the item written during the outage')
    const again = await reader.inject({ method: 'GET', url: '/items/5' })
    expect(again.json().name).toBe('written during the outage')
  })
})
