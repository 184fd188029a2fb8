/**
 * The cache and write-behind against a real 3-master Redis Cluster started by this file.
 *
 * The shared store suite and the multi-instance suite (stampede, coherence, races, leases,
 * existing clients, corrupt values) are reused unchanged: `REDIS_URL` is pointed at the cluster
 * and node-redis' `createClient` given that URL returns a `createCluster()` client, so the very
 * same test bodies run against the cluster (the node-redis way: one body, standalone and cluster).
 */
import type * as nodeRedis from 'redis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createCache, type Cache } from '../../../src/cache/index.js'
import { ClusterClient } from '../../../src/cache/stores/redis/cluster-client.js'
import { hotpathAclRules } from '../../../src/cache/stores/redis/acl.js'
import { keySlot } from '../../../src/cache/stores/redis/key-slot.js'
import { createRedisConnection } from '../../../src/cache/stores/redis/redis-connection.js'
import { redisStore, type RedisStore } from '../../../src/cache/stores/redis/index.js'
import { createWriteBehind, type WriteBehind } from '../../../src/cache/strategies/write-behind.js'
import type * as services from '../../helpers/services.js'
import { hasRedis } from '../../helpers/services.js'
import { buildApp } from '../../../service/src/app.js'
import { loadConfig } from '../../../service/src/config.js'
import type { ServiceApp } from '../../../service/src/context.js'
import type { Item } from '../../../service/src/items/schemas.js'
import { writeStrategySetup } from '../../../service/src/write-strategy/write-strategy-plugin.js'
import { createTestDatabase, seedItems, type TestDatabase } from '../strategies/support/databases.js'
import { startRedisCluster, type RedisClusterProcess } from '../../helpers/redis-cluster.js'
import { storeSuite } from '../../unit/cache/store-suite.js'
import { MemoryRepository, type Row } from '../strategies/support/memory-repository.js'

const PORTS = [7100, 7101, 7102] as const

vi.mock('../../helpers/services.js', async (importOriginal) => {
  const actual = await importOriginal<typeof services>()
  return { ...actual, REDIS_URL: 'redis+cluster://127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102' }
})

vi.mock('redis', async (importOriginal) => {
  const actual = await importOriginal<typeof nodeRedis>()
  return {
    ...actual,
    createClient: (options?: { url?: string }) =>
      options?.url?.startsWith('redis+cluster://') === true
        ? actual.createCluster({
            rootNodes: options.url
              .slice('redis+cluster://'.length)
              .split(',')
              .map((host) => ({ url: `redis://${host}` })),
          })
        : actual.createClient(options as Parameters<typeof actual.createClient>[0]),
  }
})

const CLUSTER_URL = `redis+cluster://${PORTS.map((port) => `127.0.0.1:${port}`).join(',')}`
let cluster: RedisClusterProcess | undefined

beforeAll(async () => {
  if (hasRedis) cluster = await startRedisCluster({ ports: PORTS })
})

afterAll(async () => {
  await cluster?.stop()
})

describe.runIf(hasRedis)('redis store on a cluster (shared store suite)', () => {
  let store: RedisStore
  let n = 0

  beforeAll(async () => {
    store = redisStore({ url: CLUSTER_URL, leaseTtl: 2_000 }).factory()
    await store.connect()
  })

  afterAll(() => store.close())

  // Store keys are complete keys: a value and its lease share a slot only through a hash tag,
  // which every key the cache builds carries. Each test gets its own tag (its own slot).
  storeSuite(() => ({ store, prefix: `{cluster-store-${n++}}:` }))
})

// Stampede, coherence, races, leases, negative caching, existing clients: the same suite as on
// a standalone Redis, now with its REDIS_URL on the cluster.
await import('../cache/multi-instance.test.js')

describe.runIf(hasRedis)('cluster specifics', () => {
  const prefix = `clustertest${Date.now().toString(36)}`
  const open: Cache[] = []
  const instance = () => {
    const cache = createCache({ prefix, ttlJitter: 0, l2: redisStore({ url: CLUSTER_URL }) })
    open.push(cache)
    return cache
  }

  afterAll(async () => {
    await Promise.all(open.map((cache) => cache.close()))
    const store = redisStore({ url: CLUSTER_URL }).factory()
    await store.clearPrefix(prefix)
    store.close()
  })

  it('keySlot agrees with CLUSTER KEYSLOT (hash tags, empty tags, unclosed braces, UTF-8)', async () => {
    const client = createRedisConnection({ url: CLUSTER_URL })
    await client.connect()
    try {
      for (const key of ['a', 'hp:v1:r0:k:{42}', '{users}:x', 'a{}b', 'x{ab', 'x}{y}', 'été', '{a{b}c}']) {
        expect(keySlot(key)).toBe(Number(await client.sendCommand(['CLUSTER', 'KEYSLOT', key])))
      }
    } finally {
      client.destroy()
    }
  })

  it('getMany/setMany/deleteMany with keys in many slots and on every master answer in input order', async () => {
    const a = instance()
    const keys = Array.from({ length: 40 }, (_, i) => `item:${i}`)
    const redisKeys = keys.map((key) => `${prefix}:v1:r0:k:{${key}}`)
    const owners = new Set(redisKeys.map((key) => ownerPort(keySlot(key))))
    expect(new Set(redisKeys.map((key) => keySlot(key))).size).toBeGreaterThan(30)
    expect(owners.size).toBe(PORTS.length)

    await a.setMany(keys.filter((_, i) => i % 3 !== 0).map((key) => ({ key, value: { key } })))
    // A second instance reads from Redis (its L1 is empty).
    const b = instance()
    const read = await b.getMany(keys)
    expect(read).toEqual(keys.map((key, i) => (i % 3 !== 0 ? { key } : undefined)))

    await a.deleteMany(keys.filter((_, i) => i % 2 === 0))
    const c = instance()
    expect(await c.getMany(keys)).toEqual(
      keys.map((key, i) => (i % 3 !== 0 && i % 2 !== 0 ? { key } : undefined)),
    )
  })

  it('raw MGET / UNLINK through the cluster client are split by slot and reassembled in order', async () => {
    const client = createRedisConnection({ url: CLUSTER_URL })
    await client.connect()
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `${prefix}:raw:${i}`)
      await Promise.all(
        keys.map((key, i) => (i % 4 === 0 ? undefined : client.sendCommand(['SET', key, `v${i}`]))),
      )
      expect(await client.sendCommand(['MGET', ...keys])).toEqual(
        keys.map((_, i) => (i % 4 === 0 ? null : `v${i}`)),
      )
      expect(await client.sendCommand(['EXISTS', ...keys])).toBe(keys.filter((_, i) => i % 4 !== 0).length)
      expect(await client.sendCommand(['UNLINK', ...keys])).toBe(keys.filter((_, i) => i % 4 !== 0).length)
    } finally {
      client.destroy()
    }
  })

  it('a namespace lives in one slot; invalidateNamespace and tags work across instances', async () => {
    const a = instance()
    const b = instance()
    const users = (cache: Cache) => cache.namespace('users')
    await users(a).set('1', 'u1', { tags: ['team:1'] })
    await users(a).namespace('posts').set('9', 'p9')
    expect(await users(b).get('1')).toBe('u1')
    expect(await users(b).namespace('posts').get('9')).toBe('p9')
    await a.invalidateTags(['team:1'])
    await untilValue(() => users(b).get('1'), undefined)
    await users(a).set('1', 'u1 again')
    await a.invalidateNamespace('users')
    await untilValue(() => users(b).get('1'), undefined)
    await untilValue(() => users(b).namespace('posts').get('9'), undefined)
    // The generation counter and every entry of the namespace and its children share one slot.
    const found: string[] = []
    for (const port of PORTS)
      found.push(...lines((await cluster?.cli(port, 'KEYS', `${prefix}:*{users}*`)) ?? ''))
    expect(found.some((key) => key.includes(':gen:'))).toBe(true)
    expect(found.filter((key) => key.includes(':k:')).length).toBeGreaterThanOrEqual(2)
    expect(new Set(found.map((key) => keySlot(key))).size).toBe(1)
  })

  it('clearPrefix removes the keys on every master', async () => {
    const a = instance()
    const scoped = `${prefix}clear`
    const cache = createCache({ prefix: scoped, ttlJitter: 0, l2: redisStore({ url: CLUSTER_URL }) })
    open.push(cache)
    await cache.setMany(Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: i })))
    const count = async () => {
      let total = 0
      for (const port of PORTS) total += lines((await cluster?.cli(port, 'KEYS', `${scoped}:*`)) ?? '').length
      return total
    }
    expect(await count()).toBeGreaterThanOrEqual(30)
    const store = redisStore({ url: CLUSTER_URL }).factory()
    await store.clearPrefix(scoped)
    store.close()
    expect(await count()).toBe(0)
    expect(await a.get('k1')).toBeUndefined()
  })

  it('accepts a ClusterClient from createRedisConnection and leaves it open on close', async () => {
    const client = createRedisConnection({ url: CLUSTER_URL })
    expect(client).toBeInstanceOf(ClusterClient)
    await client.connect()
    try {
      const external = createCache({ prefix, ttlJitter: 0, l2: redisStore({ client }) })
      await external.set('given', 1)
      expect(await instance().get('given')).toBe(1)
      await external.close()
      expect(await client.sendCommand(['PING'])).toBe('PONG')
    } finally {
      client.destroy()
    }
  })
})

describe.runIf(hasRedis)('write-behind on a cluster', () => {
  const prefix = `test:cluster-wb:${Date.now().toString(36)}`
  const open: WriteBehind<Row, number>[] = []
  let queues = 0
  const queue = (
    repository: MemoryRepository,
    options: Parameters<typeof createWriteBehind<Row, number>>[1] = {},
  ) => {
    const writes = createWriteBehind<Row, number>(repository, {
      url: CLUSTER_URL,
      prefix,
      name: `q${queues++}`,
      block: 50,
      retryDelay: 10,
      maxRetryDelay: 50,
      drainTimeout: 10_000,
      ...options,
    })
    open.push(writes)
    return writes
  }

  afterAll(async () => {
    await Promise.all(open.map((writes) => writes.close()))
  })

  it('queues in one slot per queue; enqueue, read-your-writes, flush', async () => {
    const repository = new MemoryRepository()
    const writes = queue(repository, { flusher: false })
    await writes.connect()
    const slots = new Set(Object.values(writes.keys).map((key) => keySlot(key)))
    expect(slots.size).toBe(1)
    const saved = await writes.write({ id: 1, name: 'lamp', version: 0 }, { baseVersion: 3 })
    expect(saved).toEqual({ id: 1, name: 'lamp', version: 4 })
    expect(await writes.read(1)).toEqual({ op: 'upsert', version: 4, entity: saved })
    expect(repository.rows.size).toBe(0)
    await writes.flush()
    expect(repository.rows.get(1)).toEqual({ id: 1, name: 'lamp', version: 4 })
    expect(await writes.read(1)).toBeUndefined()
    expect((await writes.stats()).pending).toBe(0)
  })

  it('coalesces a burst of writes to one key into one upsert of the last version', async () => {
    const repository = new MemoryRepository()
    const writes = queue(repository, { flusher: false })
    await writes.connect()
    for (let i = 0; i < 20; i++) await writes.write({ id: 7, name: `n${i}`, version: 0 })
    await writes.delete(8)
    await writes.flush()
    expect(repository.batches).toHaveLength(1)
    expect(repository.batches[0]?.upserts).toEqual([{ id: 7, name: 'n19', version: 20 }])
    expect(repository.batches[0]?.deletes).toEqual([{ id: 8, version: 1 }])
  })

  it('dead-letters a write that keeps failing, flushes the rest, and replays it', async () => {
    const repository = new MemoryRepository()
    repository.poison.add(13)
    const writes = queue(repository, { maxAttempts: 2 })
    const letters: string[] = []
    writes.on('dead-letter', ({ key }) => letters.push(key))
    await writes.connect()
    await writes.write({ id: 12, name: 'fine', version: 0 })
    await writes.write({ id: 13, name: 'poison', version: 0 })
    await writes.flush()
    expect(letters).toEqual(['13'])
    expect([...repository.rows.keys()]).toEqual([12])
    expect(await writes.deadLetters.count()).toBe(1)
    repository.poison.clear()
    expect(await writes.deadLetters.replay()).toEqual({ replayed: 1, superseded: 0, refused: 0 })
    await writes.flush()
    expect(repository.rows.get(13)).toEqual({ id: 13, name: 'poison', version: 1 })
  })
})

describe.runIf(hasRedis)('a cluster as a minimal ACL user', () => {
  it('the cache (many slots, namespaces, coherence) and write-behind work with only the listed commands', async () => {
    const rules = hotpathAclRules({ keys: ['clacl:*', 'clwb:*'], channels: ['clacl:*'] })
    for (const port of PORTS) {
      expect(
        (await cluster?.cli(port, 'ACL', 'SETUSER', 'hotpath', 'reset', 'on', '>pw', ...rules))?.trim(),
      ).toBe('OK')
    }
    const url = `redis+cluster://hotpath:pw@${PORTS.map((port) => `127.0.0.1:${port}`).join(',')}`
    const errors: unknown[] = []
    const caches = [0, 1].map(() => {
      const cache = createCache({ prefix: 'clacl', ttlJitter: 0, l2: redisStore({ url }) })
      cache.on('error', (error) => errors.push(error))
      return cache
    })
    const [a, b] = caches as [Cache, Cache]
    const writes = createWriteBehind<Row, number>(new MemoryRepository(), { url, prefix: 'clwb', block: 50 })
    writes.on('error', (error) => errors.push(error))
    try {
      await expect.poll(() => a.stats().l1Trusted && b.stats().l1Trusted).toBe(true)
      const keys = Array.from({ length: 12 }, (_, i) => `k${i}`)
      await a.setMany(keys.map((key) => ({ key, value: key })))
      expect(await b.getMany(keys)).toEqual(keys)
      await a.namespace('users').set('1', 'u1')
      expect(await b.namespace('users').get('1')).toBe('u1')
      await a.invalidateNamespace('users')
      await untilValue(() => b.namespace('users').get('1'), undefined)
      await writes.connect()
      await writes.write({ id: 1, name: 'n', version: 0 })
      await writes.flush()
      expect(errors).toEqual([])
    } finally {
      await Promise.all(caches.map((cache) => cache.close()))
      await writes.close()
    }
  })
})

describe.runIf(hasRedis)('a cluster that is not up yet', () => {
  it('getOrSet answers from the loader meanwhile, and the cache connects once the cluster starts', async () => {
    const ports = [7120, 7121, 7122]
    const url = `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`
    const make = () => createCache({ prefix: 'late', ttlJitter: 0, l2: redisStore({ url, timeout: 200 }) })
    const cache = make()
    const errors: string[] = []
    cache.on('error', ({ operation }) => errors.push(operation))
    let late: RedisClusterProcess | undefined
    let other: Cache | undefined
    try {
      expect(await cache.getOrSet('k', () => 'loaded')).toBe('loaded')
      await expect.poll(() => errors.length).toBeGreaterThan(0)
      late = await startRedisCluster({ ports })
      await expect.poll(() => cache.stats().l1Trusted, { timeout: 15_000 }).toBe(true)
      await cache.set('k2', 'shared')
      other = make()
      expect(await other.get('k2')).toBe('shared')
    } finally {
      await cache.close()
      await other?.close()
      await late?.stop()
    }
  })
})

describe.runIf(hasRedis)('the reference service with REDIS_URL=redis+cluster://', () => {
  it('two instances share the cached reads and the write-behind queue through the cluster', async () => {
    const target: TestDatabase = await createTestDatabase('sqlite')
    const database = await target.open()
    await seedItems(database, 5)
    const apps: ServiceApp[] = []
    const queues: WriteBehind<Item, number>[] = []
    try {
      for (let i = 0; i < 2; i++) {
        const config = loadConfig({
          DATABASE_URL: target.url,
          REDIS_URL: CLUSTER_URL,
          CACHE_PREFIX: `svc${Date.now().toString(36)}`,
          LOG_LEVEL: 'silent',
          HTTP_CACHE: 'off',
        })
        apps.push(
          await buildApp(config, {
            database,
            plugins: [
              writeStrategySetup({
                strategy: 'behind',
                prefix: 'test:cluster-svc',
                writeBehind: { block: 50, retryDelay: 10, drainTimeout: 10_000 },
                onReady: (queue) => queues.push(queue),
              }),
            ],
          }),
        )
      }
      const [a, b] = apps as [ServiceApp, ServiceApp]
      expect((await b.inject({ method: 'GET', url: '/items/1' })).json()).toMatchObject({ id: 1, version: 1 })
      const put = await a.inject({
        method: 'PUT',
        url: '/items/1',
        payload: { name: 'renamed', category: 'c', price: 5, description: 'd' },
      })
      expect(put.statusCode).toBe(200)
      await expect
        .poll(async () => (await b.inject({ method: 'GET', url: '/items/1' })).json().name)
        .toBe('renamed')
      const created = await b.inject({
        method: 'POST',
        url: '/items',
        payload: { name: 'new', category: 'c', price: 1, description: 'd' },
      })
      expect(created.statusCode).toBe(201)
      const id = created.json().id as number
      expect(id).toBeGreaterThan(5)
      for (const queue of queues) await queue.flush()
      const row = await database.db
        .selectFrom('items')
        .select(['name'])
        .where('id', '=', id)
        .executeTakeFirst()
      expect(row?.name).toBe('new')
      expect((await a.inject({ method: 'GET', url: `/items/${id}` })).json()).toMatchObject({ name: 'new' })
    } finally {
      for (const app of apps) await app.close()
      await database.close()
      await target.drop()
    }
  })
})

function ownerPort(slot: number): number {
  // `redis-cli --cluster create` splits the slots evenly, in port order.
  return PORTS[Math.min(PORTS.length - 1, Math.floor(slot / Math.ceil(16384 / PORTS.length)))] as number
}

function lines(output: string): string[] {
  return output.split('\n').filter((line) => line.trim() !== '')
}

async function untilValue(read: () => Promise<unknown>, expected: unknown): Promise<void> {
  const deadline = Date.now() + 5_000
  let value: unknown
  while (Date.now() < deadline) {
    value = await read()
    if (value === expected) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  expect(value).toBe(expected)
}
