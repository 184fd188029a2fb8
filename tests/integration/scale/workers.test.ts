/**
 * `hotpath serve --workers 2` as a real process tree: a worker SIGKILLed under keep-alive load
 * costs at most the requests in flight on it and is replaced; a rolling restart (SIGHUP) under
 * load fails no request and replaces every worker; SIGTERM to the primary fails no request sent
 * before it and exits 0. Which worker holds which connection is read from /proc (Linux).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Pool } from 'undici'
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RestartBackoff } from '../../../service/src/cluster/restart-backoff.js'
import { resolveWorkers } from '../../../service/src/cluster/workers-option.js'
import { loadConfig } from '../../../service/src/config.js'
import { ConfigError } from '../../../service/src/errors.js'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const CONNECTIONS = 8
const ITEMS = 200
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-workers-'))

interface LogLine {
  msg?: string
  /** Epoch ms (pino). */
  time?: number
  role?: string
  worker?: number
  workerPid?: number
  port?: number
}

interface Outcome {
  start: number
  end: number
  ok: boolean
  error?: string
}

/** Keep-alive load from CONNECTIONS virtual users over one undici pool, until stopped. */
class Load {
  readonly outcomes: Outcome[] = []
  #running = true
  readonly #done: Promise<void>
  readonly #pool: Pool

  constructor(origin: string) {
    // A request that never gets an answer becomes a failure instead of holding the test.
    this.#pool = new Pool(origin, {
      connections: CONNECTIONS,
      pipelining: 1,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    })
    this.#done = Promise.all(Array.from({ length: CONNECTIONS }, (_, user) => this.#user(user))).then(
      () => undefined,
    )
  }

  async #user(user: number): Promise<void> {
    let n = user
    while (this.#running) {
      const start = performance.now()
      n = (n + 7) % ITEMS
      try {
        const response = await this.#pool.request({ method: 'GET', path: `/items/${n + 1}` })
        await response.body.arrayBuffer()
        const ok = response.statusCode === 200
        this.outcomes.push({
          start,
          end: performance.now(),
          ok,
          ...(ok ? {} : { error: `${response.statusCode}` }),
        })
      } catch (error) {
        this.outcomes.push({ start, end: performance.now(), ok: false, error: String(error) })
        // A refused connection (the server is gone) would otherwise spin.
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    }
  }

  /** Resolves once at least `count` more requests succeeded. */
  async waitForSuccesses(count: number, timeoutMs = 30_000): Promise<void> {
    const target = this.outcomes.filter((o) => o.ok).length + count
    await waitFor(
      () => (this.outcomes.filter((o) => o.ok).length >= target ? true : undefined),
      `${count} successes`,
      timeoutMs,
    )
  }

  #stopped: Promise<void> | undefined

  stop(): Promise<void> {
    this.#running = false
    return (this.#stopped ??= this.#done.then(() => this.#pool.close()))
  }
}

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Socket inodes of established TCP connections whose local port is `port`. */
function establishedInodes(port: number): Set<string> {
  const inodes = new Set<string>()
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(file)) continue
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      // local_address is `IP:PORT`, st 01 is ESTABLISHED, inode is the 10th field
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '01' && fields[9]) inodes.add(fields[9])
    }
  }
  return inodes
}

/** How many accepted connections of `port` process `pid` holds. */
function connectionsHeldBy(pid: number, port: number): number {
  const inodes = establishedInodes(port)
  let held = 0
  let fds: string[] = []
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`)
  } catch {
    return 0
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (match?.[1] !== undefined && inodes.has(match[1])) held++
    } catch {
      // closed meanwhile
    }
  }
  return held
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

let child: ChildProcess
let stdout = ''
let exit: Promise<number | null>

const lines = (): LogLine[] =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine)

/** Worker pids that logged 'worker listening' and have not exited, in order. */
function listeningWorkers(): number[] {
  const pids: number[] = []
  for (const line of lines()) {
    if (line.role !== 'primary' || line.workerPid === undefined) continue
    if (line.msg === 'worker listening') pids.push(line.workerPid)
    if (line.msg === 'worker exited' || line.msg === 'worker died unexpectedly; replacing it') {
      const index = pids.indexOf(line.workerPid)
      if (index >= 0) pids.splice(index, 1)
    }
  }
  return pids
}

let port = 0
let origin = ''

beforeAll(async () => {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) =>
        !/^(PORT|HOST|DATABASE_URL|REDIS_URL|LOG_LEVEL|SEED.*|WORKERS|CACHE.*|HTTP_CACHE)$/.test(key),
    ),
  )
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'cli/hotpath.ts',
      'serve',
      '--workers',
      '2',
      '--port',
      '0',
      '--database-url',
      `sqlite:${path.join(tmp, 'workers.db')}`,
    ],
    {
      cwd: ROOT,
      env: {
        ...clean,
        SEED_ITEMS: String(ITEMS),
        SEED_USERS: '5',
        SEED_POSTS: '5',
        RATE_LIMIT: 'off',
        BLOCKING_THRESHOLD_MS: '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  exit = once(child, 'exit').then(([code]) => code as number | null)
  await waitFor(() => (listeningWorkers().length === 2 ? true : undefined), 'two workers listening', 60_000)
  port = lines().find((line) => line.msg === 'worker listening')?.port ?? 0
  origin = `http://127.0.0.1:${port}`
})

afterAll(() => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  fs.rmSync(tmp, { recursive: true, force: true })
})

describe('worker count and restart back-off', () => {
  // With Redis (coherent caches) on a file database, then the variants the count depends on.
  const file = loadConfig({ DATABASE_URL: 'sqlite:data/x.db', REDIS_URL: 'redis://127.0.0.1:6379' })
  const memory = loadConfig({ DATABASE_URL: 'sqlite::memory:', REDIS_URL: 'redis://127.0.0.1:6379' })
  const noRedis = loadConfig({ DATABASE_URL: 'sqlite:data/x.db' })
  const noRedisNoCache = loadConfig({ DATABASE_URL: 'sqlite:data/x.db', CACHE: 'off' })

  it('resolves --workers over WORKERS, auto to the cores, and refuses bad values by name', () => {
    expect(resolveWorkers(undefined, {}, file, 4).count).toBe(4)
    expect(resolveWorkers('auto', {}, file, 3).count).toBe(3)
    expect(resolveWorkers('2', { WORKERS: '5' }, file, 8).count).toBe(2)
    expect(resolveWorkers(undefined, { WORKERS: '1' }, file, 8).count).toBe(1)
    expect(() => resolveWorkers('0', {}, file)).toThrow(/--workers/)
    expect(() => resolveWorkers(undefined, { WORKERS: 'many' }, file)).toThrow(ConfigError)
    // An in-memory database lives in one process: auto falls back, an explicit count is refused.
    expect(resolveWorkers(undefined, {}, memory, 4)).toMatchObject({ count: 1 })
    expect(resolveWorkers(undefined, {}, memory, 4).note).toBeDefined()
    expect(() => resolveWorkers('2', {}, memory)).toThrow(/in-memory/)
    // Memory caches without a coherence bus: `auto` stays one process, an explicit count is honoured.
    expect(resolveWorkers(undefined, {}, noRedis, 4)).toMatchObject({ count: 1 })
    expect(resolveWorkers(undefined, {}, noRedis, 4).note).toMatch(/REDIS_URL/)
    expect(resolveWorkers('2', {}, noRedis, 4).count).toBe(2)
    expect(resolveWorkers(undefined, {}, noRedisNoCache, 4).count).toBe(4)
  })

  it('replaces the first crash at once, then backs off exponentially up to the cap, and forgets old crashes', () => {
    const backoff = new RestartBackoff({ baseMs: 100, maxMs: 350, windowMs: 1_000 })
    expect([0, 1, 2, 3, 4].map((i) => backoff.next(i))).toEqual([0, 100, 200, 350, 350])
    expect(backoff.next(10_000)).toBe(0)
  })
})

describe('hotpath serve --workers 2', () => {
  it('seeds once, in the primary, and logs the worker id on worker lines', () => {
    expect(
      lines()
        .filter((line) => line.msg === 'seeded')
        .map((line) => line.role),
    ).toEqual(['primary'])
    const listening = lines().filter((line) => line.msg?.startsWith('Server listening at'))
    expect(listening.map((line) => line.worker).sort()).toEqual([1, 2])
  })

  it('/metrics merges the counters of every worker, whichever worker answers the scrape', async () => {
    // One connection per request: the primary deals connections to the workers in turn.
    const get = (url: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get(url, { agent: false }, (response) => {
            let body = ''
            response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
          })
          .on('error', reject)
      })
    const itemReads = (text: string) =>
      text
        .split('\n')
        .filter(
          (line) =>
            line.startsWith('hotpath_http_request_duration_seconds_count') && line.includes('/items/:id'),
        )
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
    const first = await get(`${origin}/metrics`)
    expect(first.status).toBe(200)
    const before = itemReads(first.body)
    const sent = 40
    for (let i = 0; i < sent; i++) expect((await get(`${origin}/items/${(i % ITEMS) + 1}`)).status).toBe(200)
    // Two scrapes, likely answered by different workers: each sees every worker's requests.
    for (let scrape = 0; scrape < 2; scrape++) {
      const { status, body } = await get(`${origin}/metrics`)
      expect(status).toBe(200)
      expect(itemReads(body) - before).toBeGreaterThanOrEqual(sent)
    }
  })

  it('a SIGKILLed worker costs at most its in-flight requests and is replaced by a worker that serves', async () => {
    const [victim, survivor] = listeningWorkers() as [number, number]
    const load = new Load(origin)
    try {
      await load.waitForSuccesses(200)
      const held = connectionsHeldBy(victim, port)
      expect(held).toBeGreaterThan(0)
      const before = load.outcomes.length
      const killedAt = Date.now()
      process.kill(victim, 'SIGKILL')
      const replacement = await waitFor(() => {
        const pids = listeningWorkers()
        return pids.length === 2 && !pids.includes(victim) ? pids.find((pid) => pid !== survivor) : undefined
      }, 'a replacement worker listening')
      // The replacement takes a share of new connections: drop the pool's, so clients reconnect.
      await load.stop()
      const noticedAt = lines().find(
        (line) => line.workerPid === victim && line.msg === 'worker died unexpectedly; replacing it',
      )?.time
      expect(noticedAt).toBeDefined()
      const startedAt = (o: Outcome) => performance.timeOrigin + o.start
      const failed = load.outcomes.slice(before).filter((o) => !o.ok)
      // In flight on the victim when it died: at most one request per connection it held.
      expect(failed.filter((o) => startedAt(o) < killedAt).length).toBeLessThanOrEqual(held)
      // Until the primary notices the death (its exit event), node:cluster's round robin can still
      // hand a new connection to the dead worker: such a request was routed to it, so it is in
      // flight on it too. Nothing started once the primary knew may fail (20 ms for the log line).
      expect(failed.filter((o) => startedAt(o) > noticedAt! + 20)).toEqual([])
      expect(alive(replacement)).toBe(true)

      const fresh = new Load(origin)
      try {
        await fresh.waitForSuccesses(200)
        await waitFor(
          () => (connectionsHeldBy(replacement, port) > 0 ? true : undefined),
          'connections on the replacement',
        )
      } finally {
        await fresh.stop()
      }
      expect(fresh.outcomes.filter((o) => !o.ok)).toEqual([])
    } finally {
      await load.stop()
    }
  })

  it('a rolling restart (SIGHUP) under load fails no request and replaces every worker', async () => {
    const old = listeningWorkers()
    expect(old).toHaveLength(2)
    const load = new Load(origin)
    try {
      await load.waitForSuccesses(100)
      const doneBefore = lines().filter((line) => line.msg === 'rolling restart done').length
      child.kill('SIGHUP')
      await waitFor(
        () =>
          lines().filter((line) => line.msg === 'rolling restart done').length > doneBefore
            ? true
            : undefined,
        'rolling restart done',
        45_000,
      )
      await load.waitForSuccesses(100)
    } finally {
      await load.stop()
    }
    expect(load.outcomes.filter((o) => !o.ok)).toEqual([])
    const now = listeningWorkers()
    expect(now).toHaveLength(2)
    for (const pid of old) {
      expect(now).not.toContain(pid)
      expect(alive(pid)).toBe(false)
    }
  })

  it('SIGTERM to the primary fails no request sent before it and exits 0 with every worker gone', async () => {
    const workers = listeningWorkers()
    const load = new Load(origin)
    await load.waitForSuccesses(100)
    const signalledAt = performance.now()
    child.kill('SIGTERM')
    expect(await exit).toBe(0)
    await load.stop()
    const before = load.outcomes.filter((o) => o.start < signalledAt)
    expect(before.length).toBeGreaterThan(0)
    expect(before.filter((o) => !o.ok)).toEqual([])
    for (const pid of workers) expect(alive(pid)).toBe(false)
    expect(lines().some((line) => line.role === 'primary' && line.msg === 'stopped')).toBe(true)
  })
})
