/**
 * TLS (`rediss://`) and a minimal ACL user: a dedicated redis-server with a TLS port and a
 * certificate from a throwaway CA (made with openssl), and an ACL user granted only the commands
 * in HOTPATH_REDIS_COMMANDS. The shared store suite, the cache (leases, coherence, namespaces,
 * tags) and write-behind basics run as that user over TLS, and must report no error at all.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, type Cache } from '../../../src/cache/index.js'
import { hotpathAclRules } from '../../../src/cache/stores/redis/acl.js'
import {
  createRedisConnection,
  redisStore,
  type RedisConnection,
  type RedisStore,
} from '../../../src/cache/stores/redis/index.js'
import { createWriteBehind, type WriteBehind } from '../../../src/cache/strategies/write-behind.js'
import { hasRedis } from '../../helpers/services.js'
import { storeSuite } from '../../unit/cache/store-suite.js'
import { MemoryRepository, type Row } from '../strategies/support/memory-repository.js'

const run = promisify(execFile)
const TLS_PORT = 7150
const PLAIN_PORT = 7151
const USER = 'hotpath'
const PASSWORD = 'hp-secret-pw'
const CACHE_PREFIX = 'hpacl'
const WB_PREFIX = 'wbacl'
const URL = `rediss://${USER}:${PASSWORD}@127.0.0.1:${TLS_PORT}`

let dir = ''
let ca: Buffer
let server: ChildProcess | undefined

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

async function makeCertificates(): Promise<void> {
  const file = (name: string) => path.join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=hotpath test CA',
  ])
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ])
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '1',
    '-extfile',
    file('san.ext'),
  ])
  ca = readFileSync(file('ca.crt'))
}

const cli = async (...args: string[]) =>
  (await run('redis-cli', ['-p', String(PLAIN_PORT), ...args], { timeout: 5_000 })).stdout.trim()

beforeAll(async () => {
  if (!hasRedis) return
  for (const port of [TLS_PORT, PLAIN_PORT]) {
    if (await listening(port)) throw new Error(`port ${port} is already in use`)
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'hotpath-tls-'))
  await makeCertificates()
  server = spawn(
    'redis-server',
    [
      '--port',
      String(PLAIN_PORT),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--tls-port',
      String(TLS_PORT),
      '--tls-cert-file',
      path.join(dir, 'server.crt'),
      '--tls-key-file',
      path.join(dir, 'server.key'),
      '--tls-ca-cert-file',
      path.join(dir, 'ca.crt'),
      '--tls-auth-clients',
      'no',
    ],
    { stdio: 'ignore' },
  )
  for (let i = 0; !(await listening(TLS_PORT)); i++) {
    if (i > 200) throw new Error(`redis-server with TLS did not start on port ${TLS_PORT}`)
    await sleep(25)
  }
  const rules = hotpathAclRules({
    keys: [`${CACHE_PREFIX}:*`, `${WB_PREFIX}:*`],
    channels: [`${CACHE_PREFIX}:*`],
  })
  expect(await cli('ACL', 'SETUSER', USER, 'reset', 'on', `>${PASSWORD}`, ...rules)).toBe('OK')
})

afterAll(async () => {
  const child = server
  if (child?.pid !== undefined && child.exitCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    process.kill(child.pid, 'SIGKILL')
    await exited
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe.runIf(hasRedis)('TLS and ACL', () => {
  const connections: RedisConnection[] = []
  const connect = async (url = URL, tls: { ca?: Buffer } = { ca }) => {
    const client = createRedisConnection({ url, tls, maxReconnectDelay: 50 })
    client.on('error', () => {})
    connections.push(client)
    await client.connect()
    return client
  }

  afterAll(() => {
    for (const client of connections) client.destroy()
  })

  it('connects over TLS as the ACL user when the CA is trusted', async () => {
    const client = await connect()
    expect(await client.sendCommand(['GET', `${CACHE_PREFIX}:nothing`])).toBeNull()
    expect(await cli('ACL', 'GETUSER', USER)).toContain('-@all')
  })

  it('refuses a server certificate from an untrusted CA, and a wrong password', async () => {
    const failures = (url: string, tls?: { ca: Buffer }) => {
      const errors: string[] = []
      const client = createRedisConnection({ url, ...(tls ? { tls } : {}), maxReconnectDelay: 50 })
      client.on('error', (error: Error) => errors.push(error.message))
      connections.push(client)
      client.connect().catch(() => {})
      return { client, errors }
    }
    // node-redis keeps retrying in the background; the failures surface as 'error' events.
    const untrusted = failures(URL)
    await expect
      .poll(() => untrusted.errors.join('\n'))
      .toMatch(/self[- ]signed|unable to verify|certificate/i)
    expect(untrusted.client.isReady).toBe(false)
    const wrong = failures(`rediss://${USER}:wrong@127.0.0.1:${TLS_PORT}`, { ca })
    await expect.poll(() => wrong.errors.join('\n')).toMatch(/WRONGPASS/)
    expect(wrong.client.isReady).toBe(false)
  })

  it('the user is limited: no KEYS, no FLUSHALL, no keys outside its prefixes', async () => {
    const client = await connect()
    const refused = (args: string[]) =>
      client.sendCommand(args).then(
        () => 'allowed',
        (error: Error) => error.message,
      )
    expect(await refused(['KEYS', '*'])).toMatch(/NOPERM/)
    expect(await refused(['FLUSHALL'])).toMatch(/NOPERM/)
    expect(await refused(['CONFIG', 'GET', 'maxmemory'])).toMatch(/NOPERM/)
    expect(await refused(['GET', 'elsewhere:1'])).toMatch(/NOPERM/)
    expect(await refused(['GET', `${CACHE_PREFIX}:nothing`])).toBe('allowed')
  })

  it('options override the URL: username/password and TLS given as options', async () => {
    const client = createRedisConnection({
      url: `redis://127.0.0.1:${TLS_PORT}`,
      username: USER,
      password: PASSWORD,
      tls: { ca },
    })
    client.on('error', () => {})
    connections.push(client)
    await client.connect()
    expect(await client.sendCommand(['GET', `${CACHE_PREFIX}:nothing`])).toBeNull()
  })
})

describe.runIf(hasRedis)('the shared store suite as the ACL user over TLS', () => {
  let store: RedisStore
  const errors: unknown[] = []
  let n = 0

  beforeAll(async () => {
    store = redisStore({ url: URL, tls: { ca }, leaseTtl: 2_000 }).factory()
    store.hooks = { onError: (_operation, error) => errors.push(error) }
    await store.connect()
  })

  afterAll(() => {
    store.close()
    expect(errors).toEqual([])
  })

  storeSuite(() => ({ store, prefix: `${CACHE_PREFIX}:store:${n++}:` }))

  it('leases through the Lua scripts', async () => {
    const key = `${CACHE_PREFIX}:lease`
    expect((await store.acquireLease(key, 't1', 5_000)).acquired).toBe(true)
    expect((await store.acquireLease(key, 't2', 5_000)).acquired).toBe(false)
    await store.releaseLease(key, 't1')
    expect((await store.acquireLease(key, 't3', 5_000)).acquired).toBe(true)
  })
})

describe.runIf(hasRedis)('the cache as the ACL user over TLS', () => {
  const open: Cache[] = []
  const errors: unknown[] = []
  const instance = () => {
    const cache = createCache({
      prefix: CACHE_PREFIX,
      ttlJitter: 0,
      l2: redisStore({ url: URL, tls: { ca } }),
    })
    cache.on('error', ({ operation, error }) => errors.push({ operation, error }))
    open.push(cache)
    return cache
  }

  afterAll(async () => {
    await Promise.all(open.map((cache) => cache.close()))
  })

  it('getOrSet with a lease, getMany, namespaces, tags and coherence between two instances, without an error', async () => {
    const a = instance()
    const b = instance()
    await expect.poll(() => a.stats().l1Trusted && b.stats().l1Trusted).toBe(true)
    let loads = 0
    const loader = async () => {
      loads++
      await sleep(20)
      return { id: 1 }
    }
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).getOrSet('one', loader)),
    )
    expect(loads).toBe(1)
    expect(results.every((value) => value.id === 1)).toBe(true)

    await a.setMany([
      { key: 'm1', value: 1 },
      { key: 'm2', value: 2, options: { tags: ['t:1'] } },
    ])
    expect(await b.getMany(['m1', 'missing', 'm2'])).toEqual([1, undefined, 2])
    await a.namespace('users').set('7', 'u7')
    expect(await b.namespace('users').get('7')).toBe('u7')

    await a.invalidateTags(['t:1'])
    await a.invalidateNamespace('users')
    await a.set('m1', 'changed')
    await a.delete('one')
    await expect.poll(() => b.get('m2')).toBeUndefined()
    await expect.poll(() => b.namespace('users').get('7')).toBeUndefined()
    await expect.poll(() => b.get('m1')).toBe('changed')
    await expect.poll(() => b.get('one')).toBeUndefined()
    expect(errors).toEqual([])
  })
})

describe.runIf(hasRedis)('write-behind as the ACL user over TLS', () => {
  const open: WriteBehind<Row, number>[] = []
  const errors: unknown[] = []
  let queues = 0
  const queue = (
    repository: MemoryRepository,
    options: Parameters<typeof createWriteBehind<Row, number>>[1] = {},
  ) => {
    const client = createRedisConnection({ url: URL, tls: { ca } })
    const writes = createWriteBehind<Row, number>(repository, {
      client,
      prefix: WB_PREFIX,
      name: `q${queues++}`,
      block: 50,
      retryDelay: 10,
      maxRetryDelay: 50,
      drainTimeout: 10_000,
      ...options,
    })
    writes.on('error', ({ operation, error }) => errors.push({ operation, error }))
    open.push(writes)
    return { writes, client }
  }
  const clients: RedisConnection[] = []

  afterAll(async () => {
    await Promise.all(open.map((writes) => writes.close()))
    for (const client of clients) client.destroy()
  })

  it('enqueue, read-your-writes, coalesce, flush, dead letter, replay and reclaim, without an error', async () => {
    const repository = new MemoryRepository()
    const paused = queue(repository, { flusher: false })
    clients.push(paused.client)
    await paused.writes.connect()
    for (let i = 0; i < 5; i++) await paused.writes.write({ id: 7, name: `n${i}`, version: 0 })
    await paused.writes.delete(8)
    expect(await paused.writes.read(7)).toEqual({
      op: 'upsert',
      version: 5,
      entity: { id: 7, name: 'n4', version: 5 },
    })
    expect(
      (await paused.writes.readMany([7, 99])).map((pending) =>
        pending?.op === 'upsert' ? pending.entity.name : undefined,
      ),
    ).toEqual(['n4', undefined])
    await paused.writes.flush()
    expect(repository.batches).toHaveLength(1)
    expect(repository.rows.get(7)).toEqual({ id: 7, name: 'n4', version: 5 })
    expect((await paused.writes.stats()).pending).toBe(0)

    const poisoned = new MemoryRepository()
    poisoned.poison.add(13)
    const { writes, client } = queue(poisoned, { maxAttempts: 2 })
    clients.push(client)
    await writes.connect()
    await writes.write({ id: 12, name: 'fine', version: 0 })
    await writes.write({ id: 13, name: 'poison', version: 0 })
    await writes.flush()
    expect([...poisoned.rows.keys()]).toEqual([12])
    expect(await writes.deadLetters.count()).toBe(1)
    poisoned.poison.clear()
    expect(await writes.deadLetters.replay()).toEqual({ replayed: 1, superseded: 0, refused: 0 })
    await writes.flush()
    expect(poisoned.rows.get(13)).toEqual({ id: 13, name: 'poison', version: 1 })

    // A consumer that took a write and died: another reclaims it (XAUTOCLAIM) as the same user.
    const held = new MemoryRepository()
    held.hold()
    const dying = queue(held, { name: 'shared', consumer: 'dying' })
    clients.push(dying.client)
    await dying.writes.connect()
    await dying.writes.write({ id: 31, name: 'taken', version: 0 })
    // Wait until the dying consumer has taken the write (it is now pending, held in "apply").
    await expect
      .poll(async () => (await cli('XPENDING', dying.writes.keys.stream, 'flushers')).split('\n')[0])
      .toBe('1')
    const other = new MemoryRepository()
    const rescuer = queue(other, { name: 'shared', consumer: 'survivor', claimIdle: 100, claimInterval: 50 })
    clients.push(rescuer.client)
    await rescuer.writes.connect()
    await expect
      .poll(() => other.rows.get(31), { timeout: 5_000 })
      .toEqual({ id: 31, name: 'taken', version: 1 })
    held.release()
    expect(errors).toEqual([])
  })
})
