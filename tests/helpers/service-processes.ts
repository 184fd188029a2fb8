/**
 * Several reference-service instances as separate OS processes on their own ports, sharing Redis
 * and PostgreSQL, for the scale-out tests and `bench/reliability/consistency.ts`.
 *
 * - {@link createServiceSchema}: a fresh schema in the shared `test` database (the service reaches
 *   it through `?options=-c search_path=<schema>` in `DATABASE_URL`), migrated and seeded with a
 *   few items, dropped afterwards; other suites' rows are never touched.
 * - {@link startServiceProcesses}: spawn N processes (`node --import tsx` on this file, which is
 *   also the runner: it does what `hotpath serve --port 0 --no-seed` does, plus a write-behind
 *   prefix and consumer name of the caller's choosing, which `serve` does not expose), read each
 *   port from the `hotpath-service <name> listening on <port>` line it prints, stop them by PID.
 *
 * @example
 * const schema = await createServiceSchema({ items: 50 })
 * const instances = await startServiceProcesses(3, { databaseUrl: schema.url, cachePrefix: 'h4-x' })
 * await fetch(`${instances[0].url}/items/1`)
 * await stopServiceProcesses(instances)
 * await schema.drop()
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { createClient } from 'redis'
import { POSTGRES_URL, REDIS_URL } from './services.js'

const RUNNER = fileURLToPath(import.meta.url)
/** How long a process may take from spawn to listening (tsx compiles the service on a busy machine). */
export const SERVICE_START_TIMEOUT_MS = 45_000
/** A `beforeAll` that creates a schema and starts processes: a start, plus the schema, on a busy machine. */
export const SERVICE_START_HOOK_TIMEOUT_MS = SERVICE_START_TIMEOUT_MS + 30_000
/** How long SIGTERM gets (drain write-behind, close pools) before SIGKILL. */
export const SERVICE_STOP_TIMEOUT_MS = 10_000
/** How long the runner waits for its own coherence heartbeat before announcing itself. */
const TRUST_WAIT_MS = 5_000
const LISTENING = /hotpath-service (\S+) listening on (\d+)/
/** Output kept per process for error messages. */
const OUTPUT_LIMIT = 64 * 1024

export interface ServiceProcessOptions {
  /** `DATABASE_URL` of every instance (see {@link createServiceSchema}). */
  databaseUrl: string
  /** `CACHE_PREFIX`: instances that must see each other's writes share it; unique per test file. */
  cachePrefix: string
  /** `REDIS_URL`. @default REDIS_URL of tests/helpers/services.ts (127.0.0.1:6379) */
  redisUrl?: string
  /** `WRITE_STRATEGY`. @default 'through' */
  writeStrategy?: 'through' | 'behind'
  /** Write-behind queue settings (used when `writeStrategy` is `'behind'`). */
  writeBehind?: {
    /** Prefix of the queue's Redis keys; unique per test file. */
    prefix: string
    /** A write taken by a dead consumer is reclaimed after this long. @default 1000 */
    claimIdleMs?: number
    /** How often each consumer looks for such writes. @default 250 */
    claimIntervalMs?: number
  }
  /** More environment for the processes (`CACHE_TTL`, `LOG_LEVEL`…). @default {} */
  env?: Record<string, string>
  /** Instance names (`<name>-<index>`); also the write-behind consumer names. @default 'svc' */
  name?: string
}

/** One running instance. */
export interface ServiceProcess {
  readonly name: string
  readonly pid: number
  readonly port: number
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** Resolves once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** What the process printed so far (last 64 KiB of stdout and stderr). */
  output(): string
  /** Send a signal (SIGKILL by default) and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** SIGTERM (graceful: drains write-behind, closes pools), SIGKILL after 10 s. Idempotent. */
  stop(): Promise<void>
}

/** Children still running; killed if this process exits without stopping them (a crashed test run). */
const live = new Set<ChildProcess>()
let exitHookInstalled = false
function track(child: ChildProcess): void {
  live.add(child)
  child.once('exit', () => live.delete(child))
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const running of live) running.kill('SIGKILL')
  })
}

/** Start one instance and wait until it listens. */
export function startServiceProcess(
  options: ServiceProcessOptions,
  name = options.name ?? 'svc',
): Promise<ServiceProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    ...options.env,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl ?? REDIS_URL,
    CACHE_PREFIX: options.cachePrefix,
    WRITE_STRATEGY: options.writeStrategy ?? 'through',
    HOTPATH_SERVICE_NAME: name,
  }
  if (options.writeBehind !== undefined) {
    env.HOTPATH_WB_PREFIX = options.writeBehind.prefix
    env.HOTPATH_WB_CLAIM_IDLE = String(options.writeBehind.claimIdleMs ?? 1_000)
    env.HOTPATH_WB_CLAIM_INTERVAL = String(options.writeBehind.claimIntervalMs ?? 250)
  }
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', RUNNER], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  track(child)
  let output = ''
  const append = (chunk: string) => {
    output += chunk
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT)
  }
  child.stdout?.setEncoding('utf8').on('data', append)
  child.stderr?.setEncoding('utf8').on('data', append)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  const pid = child.pid as number

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    await exited
  }
  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const force = setTimeout(() => child.kill('SIGKILL'), SERVICE_STOP_TIMEOUT_MS)
      child.kill('SIGTERM')
      await exited
      clearTimeout(force)
    })())

  return new Promise<ServiceProcess>((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`service ${name} did not listen within ${SERVICE_START_TIMEOUT_MS} ms:\n${output}`))
    }, SERVICE_START_TIMEOUT_MS)
    const onData = (chunk: string) => {
      seen += chunk
      const match = LISTENING.exec(seen)
      if (match === null) return
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      const port = Number(match[2])
      resolve({
        name,
        pid,
        port,
        url: `http://127.0.0.1:${port}`,
        exited,
        output: () => output,
        kill,
        stop,
      })
    }
    child.stdout?.on('data', onData)
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`service ${name} exited (${signal ?? code}) before listening:\n${output}`))
    })
  })
}

/**
 * Start `count` instances in parallel (named `<name>-0`…); if one fails, the others are stopped.
 */
export async function startServiceProcesses(
  count: number,
  options: ServiceProcessOptions,
): Promise<ServiceProcess[]> {
  const base = options.name ?? 'svc'
  const results = await Promise.allSettled(
    Array.from({ length: count }, (_, index) => startServiceProcess(options, `${base}-${index}`)),
  )
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const failed = results.find((result) => result.status === 'rejected')
  if (failed !== undefined) {
    await stopServiceProcesses(started)
    throw failed.reason
  }
  return started
}

/** Stop every instance (SIGTERM, then SIGKILL after 10 s), in parallel. */
export async function stopServiceProcesses(processes: readonly ServiceProcess[]): Promise<void> {
  await Promise.all(processes.map((instance) => instance.stop()))
}

/** A private schema in the shared PostgreSQL database. */
export interface ServiceSchema {
  readonly schema: string
  /** `DATABASE_URL` with `search_path` set to the schema. */
  readonly url: string
  /** Run SQL in the schema (the test's view of the database). */
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<Row[]>
  /** Drop the schema and everything in it. */
  drop(): Promise<void>
}

/**
 * Create `hotpath_<label>_<random>` in the test database, migrate it and seed `items` items
 * (deterministic seed rows, ids 1..items, version 1), no users or posts.
 */
export async function createServiceSchema(
  options: { label?: string; items?: number } = {},
): Promise<ServiceSchema> {
  const schema = `hotpath_${options.label ?? 'scale'}_${randomUUID().replaceAll('-', '').slice(0, 10)}`
  if (!/^[a-z0-9_]+$/.test(schema)) throw new TypeError(`label must be [a-z0-9_]+, got ${options.label}`)
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  await admin.connect()
  try {
    await admin.query(`create schema ${schema}`)
  } finally {
    await admin.end()
  }
  const url = new URL(POSTGRES_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  const connectionString = url.toString()
  // The service's own migrations and seed, imported here only (the runner imports its own).
  const { createDatabase } = await import('../../service/src/db/create-database.js')
  const { seedDatabase } = await import('../../service/src/seed.js')
  const database = await createDatabase({ dialect: 'postgres', connectionString }, { poolSize: 2 })
  try {
    await seedDatabase(database, { items: options.items ?? 0, users: 0, posts: 0 })
  } finally {
    await database.close()
  }
  const pool = new pg.Pool({ connectionString, max: 2 })
  pool.on('error', () => {})
  let dropped: Promise<void> | undefined
  return {
    schema,
    url: connectionString,
    query: async <Row extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
      (await pool.query<Row>(text, values)).rows,
    drop: () =>
      (dropped ??= (async () => {
        await pool.end()
        const client = new pg.Client({ connectionString: POSTGRES_URL })
        await client.connect()
        try {
          await client.query(`drop schema if exists ${schema} cascade`)
        } finally {
          await client.end()
        }
      })()),
  }
}

/** Delete every key of the shared Redis starting with one of `prefixes` (SCAN + UNLINK, no KEYS). */
export async function clearRedisPrefixes(prefixes: readonly string[], redisUrl = REDIS_URL): Promise<void> {
  const client = createClient({ url: redisUrl })
  await client.connect()
  try {
    for (const prefix of prefixes) {
      const pattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`
      for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 1_000 })) {
        if (keys.length > 0) await client.unlink(keys)
      }
    }
  } finally {
    client.destroy()
  }
}

// ------------------------------------------------------------------ runner (child process side)

/**
 * `hotpath serve --port 0 --no-seed` with the write-behind prefix, consumer name and reclaim
 * timings from the environment; prints the listening line once this instance's coherence channel
 * works (its own heartbeat came back), so a test starts with trusted L1s everywhere.
 */
async function runService(): Promise<void> {
  const { loadConfig } = await import('../../service/src/config.js')
  const { buildApp } = await import('../../service/src/app.js')
  const { writeStrategyFromEnv, writeStrategySetup } =
    await import('../../service/src/write-strategy/write-strategy-plugin.js')
  const env = process.env
  const name = env.HOTPATH_SERVICE_NAME ?? `svc-${process.pid}`
  const config = loadConfig(env)
  const app = await buildApp(config, {
    plugins: [
      writeStrategySetup({
        strategy: writeStrategyFromEnv(env),
        ...(env.HOTPATH_WB_PREFIX === undefined ? {} : { prefix: env.HOTPATH_WB_PREFIX }),
        writeBehind: {
          consumer: name,
          claimIdle: Number(env.HOTPATH_WB_CLAIM_IDLE ?? 1_000),
          claimInterval: Number(env.HOTPATH_WB_CLAIM_INTERVAL ?? 250),
        },
      }),
    ],
  })
  await app.listen({ port: config.port, host: config.host })
  const cache = app.service.cache?.cache
  const deadline = Date.now() + TRUST_WAIT_MS
  while (config.redisUrl !== undefined && cache !== undefined && !cache.stats().l1Trusted) {
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  process.stdout.write(`hotpath-service ${name} listening on ${port}\n`)
  let stopping = false
  process.on('SIGTERM', () => {
    if (stopping) return
    stopping = true
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${String(error)}\n`)
        process.exit(1)
      },
    )
  })
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === RUNNER) {
  runService().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  })
}
