/**
 * `hotpath serve --workers 1` vs `--workers 2` on this machine: `GET /items/{id}` (zipf over 1,000
 * hot ids) cached (`CACHE=on`, memory tier) and uncached (`CACHE=off`, every request a SQLite
 * query), the four servers loaded by wrk in interleaved rounds. Prints Markdown: medians, spread,
 * server CPU per request and the 2-worker / 1-worker ratios. On a 2-core machine the load
 * generator shares the cores with the workers; the table says so.
 *
 *   npx tsx bench/scale/workers.ts [--quick] [--rounds 5] [--duration 5s] [--warmup 1s] [--connections 50]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { copyFileSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createDatabase } from '../../service/src/db/create-database.js'
import { seedDatabase } from '../../service/src/seed.js'
import {
  detectWrk,
  readProcCpu,
  runComparison,
  scenarioFromUrl,
  type CompareTarget,
  type Comparison,
} from '../../src/bench/index.js'
import { BENCH_ITEMS, BENCH_SEED } from '../lib/items-db.js'
import { freePort } from '../lib/spawn-target.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const READY_TIMEOUT_MS = 120_000
const HOT_IDS = '1..1000'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    threads: { type: 'string', default: '1' },
  },
})
const rounds = Number(flags.rounds ?? (flags.quick ? 2 : 5))
const duration = flags.duration ?? (flags.quick ? '1s' : '5s')
const warmup = flags.warmup ?? '1s'
const connections = Number(flags.connections)
const threads = Number(flags.threads)

/** One server configuration. */
interface Case {
  name: string
  workers: 1 | 2
  cache: 'on' | 'off'
}

const CASES: Case[] = [
  { name: 'cached, 1 worker', workers: 1, cache: 'on' },
  { name: 'cached, 2 workers', workers: 2, cache: 'on' },
  { name: 'uncached, 1 worker', workers: 1, cache: 'off' },
  { name: 'uncached, 2 workers', workers: 2, cache: 'off' },
]

interface Server {
  readonly spec: Case
  readonly url: string
  /** The processes that serve: the single process, or the primary and its workers. */
  readonly pids: number[]
  stop(): Promise<void>
}

/** The service's seeded SQLite file, built once aside and reused by later runs. */
async function seededTemplate(): Promise<string> {
  const file = path.join(os.tmpdir(), `hotpath-bench-workers-${BENCH_ITEMS}-${BENCH_SEED}.db`)
  if (existsSync(file)) return file
  const building = `${file}.${process.pid}.building`
  const database = await createDatabase({ dialect: 'sqlite', filename: building })
  try {
    await seedDatabase(database, { items: BENCH_ITEMS, users: 1_000, posts: 1_000, seed: BENCH_SEED })
    // One file, no -wal beside it, so that a plain copy is the whole database.
    if (database.raw.dialect === 'sqlite') database.raw.sqlite.pragma('wal_checkpoint(TRUNCATE)')
  } finally {
    await database.close()
  }
  renameSync(building, file)
  return file
}

async function startServer(spec: Case, template: string, dir: string): Promise<Server> {
  const file = path.join(dir, `${spec.workers}-${spec.cache}.db`)
  copyFileSync(template, file)
  const port = await freePort()
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(REDIS_URL|CACHE.*|HTTP_CACHE|FAST_LANE|WORKERS)$/.test(key),
    ),
  )
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'cli/hotpath.ts', 'serve', '--no-seed'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...inherited,
        NODE_ENV: 'production',
        PORT: String(port),
        DATABASE_URL: `sqlite:${file}`,
        WORKERS: String(spec.workers),
        CACHE: spec.cache,
        LOG_LEVEL: 'info',
        RATE_LIMIT: 'off',
      },
    },
  )
  let stdout = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  const exited = once(child, 'exit')
  const deadline = Date.now() + READY_TIMEOUT_MS
  const workerPids = (): number[] =>
    [...stdout.matchAll(/"workerPid":(\d+),"port":\d+,"msg":"worker listening"/g)].map((m) => Number(m[1]))
  for (;;) {
    const ready =
      spec.workers === 1 ? stdout.includes('Server listening at') : workerPids().length >= spec.workers
    if (ready) break
    if (child.exitCode !== null) throw new Error(`${spec.name}: the server exited with ${child.exitCode}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${spec.name}: not listening within ${READY_TIMEOUT_MS} ms`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const pid = child.pid as number
  return {
    spec,
    url: `http://127.0.0.1:${port}`,
    pids: [pid, ...(spec.workers === 1 ? [] : workerPids())],
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000)
      child.kill('SIGTERM')
      await exited
      clearTimeout(force)
    },
  }
}

/** CPU time (ms) used so far by every process of a server. */
function serverCpuMs(server: Server): number | null {
  let total = 0
  for (const pid of server.pids) {
    const cpu = readProcCpu(pid)
    if (cpu === null) return null
    total += cpu.selfMs
  }
  return total
}

const fmtInt = (value: number) => Math.round(value).toLocaleString('en-US')
const fmtPct = (fraction: number) => `${(fraction * 100).toFixed(0)}%`
const fmtMs = (ms: number) => `${ms.toFixed(ms >= 10 ? 1 : 2)} ms`

function markdown(comparison: Comparison, cpuUs: Map<string, number[]>, loadBefore: number[]): string {
  const lines = [
    `\`GET /items/{id}\`, ids ${HOT_IDS} zipf; wrk, ${connections} connections, ${threads} thread, ` +
      `${comparison.rounds} interleaved rounds of ${duration} after ${warmup} warm-up each; ` +
      `${os.availableParallelism()} cores shared by the workers and wrk; load average before the run ` +
      `${loadBefore.map((value) => value.toFixed(2)).join(' / ')}${flags.quick ? ' (quick run)' : ''}.`,
    '',
    '| target | req/s (median) | spread | p50 | p99 | errors | server CPU µs/req |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for (const target of comparison.targets) {
    const samples = (cpuUs.get(target.name) ?? []).sort((a, b) => a - b)
    const cpu = samples.length === 0 ? '–' : (samples[samples.length >> 1] as number).toFixed(1)
    lines.push(
      `| ${target.name} | ${fmtInt(target.rps.median)} | ${fmtPct(target.rps.spread)} | ${fmtMs(target.p50.median)} | ` +
        `${fmtMs(target.p99.median)} | ${(target.errorRate * 100).toFixed(2)}% | ${cpu} |`,
    )
  }
  lines.push('', '2 workers / 1 worker, paired per round (> 1 means 2 workers serve more):', '')
  lines.push(
    '| route | req/s ratio (median) | min – max | p99 ratio (median, < 1 is better) |',
    '|---|---:|---:|---:|',
  )
  for (const cache of ['cached', 'uncached']) {
    const ratio = comparison.ratios.find((r) => r.a === `${cache}, 1 worker` && r.b === `${cache}, 2 workers`)
    if (ratio === undefined) continue
    lines.push(
      `| ${cache} | ${ratio.rps.median.toFixed(2)}× | ${ratio.rps.min.toFixed(2)} – ${ratio.rps.max.toFixed(2)} | ${ratio.p99.median.toFixed(2)}× |`,
    )
  }
  return lines.join('\n')
}

const engine = detectWrk() === null ? 'autocannon' : 'wrk'
if (engine !== 'wrk') process.stderr.write('wrk not found: falling back to autocannon (in-process)\n')
const loadBefore = os.loadavg()
const template = await seededTemplate()
const dir = mkdtempSync(path.join(os.tmpdir(), 'hotpath-bench-workers-'))
const servers: Server[] = []
try {
  for (const spec of CASES) {
    process.stderr.write(`starting ${spec.name}…\n`)
    servers.push(await startServer(spec, template, dir))
  }
  const byName = new Map(servers.map((server) => [server.spec.name, server]))
  const targets: CompareTarget[] = servers.map((server) => {
    const url = `${server.url}/items/{id}`
    return { name: server.spec.name, url, scenario: scenarioFromUrl(url, { ids: HOT_IDS, dist: 'zipf' }) }
  })
  const cpuUs = new Map<string, number[]>()
  let cpuBefore: number | null = null
  const comparison = await runComparison({
    targets,
    rounds,
    duration,
    warmup,
    connections,
    threads,
    engine,
    beforeRun: (round, target) => {
      process.stderr.write(`  round ${round + 1}/${rounds} ${target.name} … `)
      const server = byName.get(target.name)
      cpuBefore = server === undefined ? null : serverCpuMs(server)
    },
    afterRun: (_round, target, result) => {
      const server = byName.get(target.name)
      const after = server === undefined ? null : serverCpuMs(server)
      // Server CPU covers the warm-up too: spread it over the warm-up's requests as well.
      const requests = result.requests.total * (1 + result.options.warmupMs / result.options.durationMs)
      if (cpuBefore !== null && after !== null && requests > 0) {
        cpuUs.set(target.name, [...(cpuUs.get(target.name) ?? []), ((after - cpuBefore) * 1_000) / requests])
      }
      process.stderr.write(`${fmtInt(result.requests.perSecond)} req/s, p99 ${fmtMs(result.latency.p99)}\n`)
    },
  })
  process.stdout.write(`${markdown(comparison, cpuUs, loadBefore)}\n`)
} finally {
  await Promise.all(servers.map((server) => server.stop()))
  rmSync(dir, { recursive: true, force: true })
}
