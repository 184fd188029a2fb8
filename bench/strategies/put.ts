/**
 * `PUT /items/:id` over a hot set of 1,000 ids, 50 connections: write-behind vs write-through on
 * SQLite and PostgreSQL, in the same run. Reports requests/s, p99, and for write-behind the flush
 * lag under load (age of the oldest write not yet in the database) and the time to drain after.
 *
 *   npx tsx bench/strategies/put.ts [--duration 10] [--connections 50] [--backends sqlite,postgres] [--cache on|off]
 *
 * Also reports the service process's CPU time per request (user + system, from /proc, counting the
 * write-behind drain after the load): on a shared or loaded machine req/s mostly measures the
 * neighbours, CPU per request much less so.
 *
 * `TARGET_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/p"` profiles each target (written on exit).
 *
 * Needs Redis (REDIS_URL) for write-behind and the cache, and PostgreSQL (POSTGRES_URL, db
 * `postgres` reachable for CREATE DATABASE) for the PostgreSQL rows. Run it alone on the machine.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import pg from 'pg'
import { createClient } from 'redis'
import { createDatabase } from '../../service/src/db/create-database.js'
import { writeBehindKeys } from '../../src/cache/strategies/defaults.js'

const HOT_SET = 1_000
const TARGET = path.join(path.dirname(fileURLToPath(import.meta.url)), 'put-target.ts')
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    backends: { type: 'string', default: 'sqlite,postgres' },
    cache: { type: 'string', default: 'on' },
  },
})
const duration = Number(values.duration)
const connections = Number(values.connections)
const backends = values.backends.split(',') as ('sqlite' | 'postgres')[]
// `--cache off`: the service's data and HTTP caches off, to see the strategies' own cost.
const cacheEnv: Record<string, string> = values.cache === 'off' ? { CACHE: 'off', HTTP_CACHE: 'off' } : {}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100

/** CPU time (user + system) of a process in µs, from /proc (Linux); undefined elsewhere. */
function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6
  } catch {
    return undefined
  }
}

interface Row {
  backend: string
  strategy: 'through' | 'behind'
  requestsPerSecond: number
  p99: number
  non2xx: number
  errors: number
  maxLagMs?: number
  drainMs?: number
  cpuPerRequestUs?: number
}

/** A fresh database with the hot set seeded; returns its URL and how to drop it. */
async function prepareDatabase(
  backend: 'sqlite' | 'postgres',
): Promise<{ url: string; drop(): Promise<void> }> {
  let url: string
  let drop: () => Promise<void>
  if (backend === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-bench-put-'))
    url = `sqlite:${path.join(dir, 'bench.db')}`
    drop = () => Promise.resolve(fs.rmSync(dir, { recursive: true, force: true }))
  } else {
    const name = `hotpath_bench_put_${randomUUID().replaceAll('-', '').slice(0, 10)}`
    const admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`)
    await admin.end()
    const target = new URL(POSTGRES_URL)
    target.pathname = `/${name}`
    url = target.toString()
    drop = async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL })
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await client.end()
    }
  }
  const database = await createDatabase(
    backend === 'sqlite'
      ? { dialect: 'sqlite', filename: url.slice('sqlite:'.length) }
      : { dialect: 'postgres', connectionString: url },
    { migrate: true, poolSize: 2 },
  )
  const now = new Date().toISOString()
  const rows = Array.from({ length: HOT_SET }, (_, i) => ({
    id: i + 1,
    name: `item ${i + 1}`,
    category: 'bench',
    price: 100,
    description: 'x'.repeat(200),
    updated_at: now,
    version: 1,
  }))
  for (let i = 0; i < rows.length; i += 250)
    await database.db
      .insertInto('items')
      .values(rows.slice(i, i + 250))
      .execute()
  if (backend === 'postgres') {
    await sql`SELECT setval(pg_get_serial_sequence('items', 'id'), (SELECT max(id) FROM items))`.execute(
      database.db,
    )
  }
  await database.close()
  return { url, drop }
}

function startTarget(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  // TARGET_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/p" profiles each target (written when it stops).
  const flags = process.env.TARGET_NODE_FLAGS?.split(' ').filter(Boolean) ?? []
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', TARGET], {
    env: { ...process.env, ...env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /PORT (\d+)/.exec(out)
      if (match) resolve({ child, port: Number(match[1]) })
    })
    child.once('exit', (code) => reject(new Error(`bench target exited with ${code} before listening`)))
  })
}

async function stopTarget(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  await exited
}

async function runOne(backend: 'sqlite' | 'postgres', strategy: 'through' | 'behind'): Promise<Row> {
  const database = await prepareDatabase(backend)
  const prefix = `bench:wb:${randomUUID().slice(0, 8)}`
  const redis = createClient({ url: REDIS_URL })
  await redis.connect()
  const keys = writeBehindKeys(prefix, 'items')
  const { child, port } = await startTarget({
    DATABASE_URL: database.url,
    REDIS_URL,
    WRITE_STRATEGY: strategy,
    WB_PREFIX: prefix,
    CACHE_PREFIX: `bench-put-${prefix.slice(-8)}`,
    ...cacheEnv,
  })
  let maxLagMs = 0
  let sampling = strategy === 'behind'
  const sampler = (async () => {
    while (sampling) {
      const oldest = (await redis.sendCommand(['XRANGE', keys.stream, '-', '+', 'COUNT', '1'])) as [
        string,
        string[],
      ][]
      const first = oldest[0]
      if (first !== undefined) maxLagMs = Math.max(maxLagMs, Date.now() - Number(first[0].split('-')[0]))
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })()
  try {
    // Warm-up, the same for both strategies: every hot id read once (fills the service cache).
    for (let id = 1; id <= HOT_SET; id += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(`http://127.0.0.1:${port}/items/${id + i}`).then((response) => response.arrayBuffer()),
        ),
      )
    }
    let counter = 0
    const cpuBefore = cpuMicros(child.pid)
    const result = await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      duration,
      requests: [
        {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          setupRequest: (request) => {
            counter++
            request.path = `/items/${1 + Math.floor(Math.random() * HOT_SET)}`
            request.body = JSON.stringify({
              name: `n${counter}`,
              category: 'bench',
              price: counter % 1000,
              description: 'x'.repeat(200),
            })
            return request
          },
        },
      ],
    })
    sampling = false
    await sampler
    let drainMs: number | undefined
    if (strategy === 'behind') {
      const started = Date.now()
      while (Number(await redis.sendCommand(['XLEN', keys.stream])) > 0)
        await new Promise((r) => setTimeout(r, 20))
      drainMs = Date.now() - started
    }
    const cpuAfter = cpuMicros(child.pid)
    const cpuPerRequestUs =
      cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0
        ? (cpuAfter - cpuBefore) / result.requests.total
        : undefined
    return {
      backend,
      strategy,
      requestsPerSecond: result.requests.average,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors,
      ...(strategy === 'behind' ? { maxLagMs, drainMs } : {}),
      ...(cpuPerRequestUs === undefined ? {} : { cpuPerRequestUs }),
    }
  } finally {
    sampling = false
    await stopTarget(child)
    const leftovers = await redis.keys(`${prefix}*`)
    if (leftovers.length > 0) await redis.del(leftovers)
    redis.destroy()
    await database.drop()
  }
}

const rows: Row[] = []
for (const backend of backends) {
  for (const strategy of ['through', 'behind'] as const) {
    process.stderr.write(`${backend} / write-${strategy}: ${duration} s, ${connections} connections…\n`)
    rows.push(await runOne(backend, strategy))
  }
}

const lines = [
  `PUT /items/:id, hot set of ${HOT_SET} ids, ${connections} connections, ${duration} s per case, service cache ${values.cache} (${os.cpus().length} CPUs)`,
  '',
  '| database | strategy | req/s | p99 ms | non-2xx | errors | max flush lag ms | drain after ms | behind / through | service CPU µs/req | CPU through / behind |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
]
for (const row of rows) {
  const through = rows.find((other) => other.backend === row.backend && other.strategy === 'through')
  const ratio =
    row.strategy === 'behind' && through !== undefined && through.requestsPerSecond > 0
      ? `${(row.requestsPerSecond / through.requestsPerSecond).toFixed(2)}x`
      : ''
  const cpuRatio =
    row.strategy === 'behind' && row.cpuPerRequestUs !== undefined && through?.cpuPerRequestUs !== undefined
      ? `${(through.cpuPerRequestUs / row.cpuPerRequestUs).toFixed(2)}x`
      : ''
  lines.push(
    `| ${row.backend} | write-${row.strategy} | ${row.requestsPerSecond.toFixed(0)} | ${row.p99} | ${row.non2xx} | ${row.errors} | ${row.maxLagMs ?? ''} | ${row.drainMs ?? ''} | ${ratio} | ${row.cpuPerRequestUs?.toFixed(0) ?? ''} | ${cpuRatio} |`,
  )
}
process.stdout.write(`${lines.join('\n')}\n`)
