/**
 * Redis Sentinel: a primary, a replica and one Sentinel started by this file. The cache and
 * write-behind reach the primary through `redis+sentinel://…/mymaster`, and keep working after a
 * failover (SENTINEL FAILOVER promotes the replica).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, type Cache } from '../../../src/cache/index.js'
import { redisStore } from '../../../src/cache/stores/redis/index.js'
import { createWriteBehind, type WriteBehind } from '../../../src/cache/strategies/write-behind.js'
import { hasRedis } from '../../helpers/services.js'
import { MemoryRepository, type Row } from '../strategies/support/memory-repository.js'

const run = promisify(execFile)
const PRIMARY = 7110
const REPLICA = 7111
const SENTINEL = 7112
const URL = `redis+sentinel://127.0.0.1:${SENTINEL}/mymaster`

let dir = ''
const children: ChildProcess[] = []
const cli = async (port: number, ...args: string[]) =>
  (await run('redis-cli', ['-p', String(port), ...args], { timeout: 5_000 })).stdout.trim()

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('the Sentinel setup did not become ready in time')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function start(port: number, args: string[]): Promise<void> {
  children.push(spawn('redis-server', args, { stdio: 'ignore' }))
  for (let i = 0; !(await listening(port)); i++) {
    if (i > 200) throw new Error(`redis-server did not start on port ${port}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

beforeAll(async () => {
  if (!hasRedis) return
  for (const port of [PRIMARY, REPLICA, SENTINEL]) {
    if (await listening(port)) throw new Error(`port ${port} is already in use`)
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'hotpath-sentinel-'))
  const plain = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
  await start(PRIMARY, ['--port', String(PRIMARY), ...plain])
  await start(REPLICA, ['--port', String(REPLICA), ...plain, '--replicaof', '127.0.0.1', String(PRIMARY)])
  const config = path.join(dir, 'sentinel.conf')
  writeFileSync(
    config,
    [
      `port ${SENTINEL}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor mymaster 127.0.0.1 ${PRIMARY} 1`,
      'sentinel down-after-milliseconds mymaster 1000',
      'sentinel failover-timeout mymaster 5000',
      '',
    ].join('\n'),
  )
  await start(SENTINEL, [config, '--sentinel'])
  // The replica must be in sync and known to the Sentinel before a failover can pick it.
  await until(async () => (await cli(REPLICA, 'INFO', 'replication')).includes('master_link_status:up'))
  await until(async () => (await cli(SENTINEL, 'SENTINEL', 'REPLICAS', 'mymaster')).includes(String(REPLICA)))
})

afterAll(async () => {
  await Promise.all(
    children.map((child) => {
      if (child.pid === undefined || child.exitCode !== null) return undefined
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      process.kill(child.pid, 'SIGKILL')
      return exited
    }),
  )
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe.runIf(hasRedis)('Redis Sentinel', () => {
  const caches: Cache[] = []
  const queues: WriteBehind<Row, number>[] = []
  const errors: string[] = []

  afterAll(async () => {
    await Promise.all(caches.map((cache) => cache.close()))
    await Promise.all(queues.map((writes) => writes.close()))
  })

  it('the cache and write-behind reach the primary through Sentinel and keep working after a failover', async () => {
    const instance = () => {
      const cache = createCache({ prefix: 'sentinel', ttlJitter: 0, l2: redisStore({ url: URL }) })
      cache.on('error', ({ operation }) => errors.push(operation))
      caches.push(cache)
      return cache
    }
    const [a, b] = [instance(), instance()]
    await expect.poll(() => a.stats().l1Trusted && b.stats().l1Trusted).toBe(true)
    await a.setMany([
      { key: 'k1', value: 1 },
      { key: 'k2', value: 2 },
    ])
    expect(await b.getMany(['k1', 'k2', 'k3'])).toEqual([1, 2, undefined])
    expect(await cli(PRIMARY, 'DBSIZE')).not.toBe('0')
    await a.set('k1', 'changed')
    await expect.poll(() => b.get('k1')).toBe('changed')

    const repository = new MemoryRepository()
    const writes = createWriteBehind<Row, number>(repository, { url: URL, prefix: 'sentinel:wb', block: 50 })
    queues.push(writes)
    await writes.connect()
    await writes.write({ id: 1, name: 'before', version: 0 })
    await writes.flush()
    expect(repository.rows.get(1)?.name).toBe('before')

    expect(await cli(SENTINEL, 'SENTINEL', 'FAILOVER', 'mymaster')).toBe('OK')
    await expect
      .poll(async () => (await cli(REPLICA, 'INFO', 'replication')).includes('role:master'), {
        timeout: 15_000,
      })
      .toBe(true)

    // After the switch: writes land on the new primary and reach the other instance again.
    await expect
      .poll(
        async () => {
          await a.set('after', 'failover').catch(() => {})
          return b.get('after')
        },
        { timeout: 15_000, interval: 100 },
      )
      .toBe('failover')
    await expect
      .poll(
        async () => {
          const saved = await writes.write({ id: 2, name: 'after', version: 0 }).catch(() => undefined)
          return saved?.id
        },
        { timeout: 15_000, interval: 100 },
      )
      .toBe(2)
    await writes.flush()
    expect(repository.rows.get(2)?.name).toBe('after')
    expect(await cli(REPLICA, 'EXISTS', 'sentinel:wb:{default}:stream')).toBe('1')
  })
})
