/**
 * Streaming export benchmark: rows/s, MB/s and the server's peak RSS for exporting every item as
 * CSV, through SQLite (Kysely `.stream()` on a read-only connection), the PostgreSQL cursor
 * (pg-cursor), the PostgreSQL COPY path, a naive buffered export, and `psql \copy` as the limit.
 * Each server case runs in a fresh process (peak RSS = its `VmHWM`); the client discards the bytes.
 * Prints a markdown table. Targets (issue 6): peak RSS at 5M rows within 32 MB of the peak at 1M;
 * PostgreSQL cursor >= 0.5x and COPY >= 0.9x the psql `\copy` rate.
 *
 * Rates are compared side by side: every case of a size runs once per round, in a rotated order,
 * and the ratio to `psql \copy` is taken per round (median and min–max over rounds). Sizes up to
 * `--round-limit` rows get `--rounds` rounds; bigger ones (the memory check) get one.
 *
 *   npx tsx bench/stream/export.ts                       # 1M (5 rounds) and 5M rows (1 round); minutes
 *   npx tsx bench/stream/export.ts --rows 20000          # smoke run
 *   npx tsx bench/stream/export.ts --rows 1000000 --skip naive --rounds 7
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'

import { createDatabase } from '../../service/src/db/create-database.js'
import type { Database } from '../../service/src/db/database.js'
import { ITEM_EXPORT_COLUMNS, itemsCopyQuery } from '../../service/src/exports/items-export.js'
import { seedDatabase } from '../../service/src/seed.js'
import { inlineParameters } from '../../src/stream/sources/pg-copy-source.js'
import { POSTGRES_URL } from '../../tests/helpers/services.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const SERVER = path.join(ROOT, 'bench/stream/export-server.ts')

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000,5000000' },
    skip: { type: 'string', default: '' },
    'data-dir': { type: 'string', default: path.join(ROOT, 'data/bench-stream') },
    rounds: { type: 'string', default: '5' },
    'round-limit': { type: 'string', default: '1000000' },
  },
})
const ROUNDS = Math.max(1, Number(values.rounds))
const ROUND_LIMIT = Number(values['round-limit'])
const SIZES = values.rows.split(',').map(Number)
const SKIP = new Set(values.skip.split(',').filter(Boolean))
const DATA_DIR = values['data-dir']
const PSQL_QUERY = 'select id, name, category, price, description, updated_at, version from items order by id'

interface Measurement {
  case: string
  round: number
  rows: number
  seconds: number
  bytes: number
  peakRssMb: number | undefined
  peakAnonMb: number | undefined
  error?: string
}

async function ensureSqlite(rows: number): Promise<string> {
  fs.mkdirSync(DATA_DIR, { recursive: true })
  const filename = path.join(DATA_DIR, `items-${rows}.db`)
  const database = await createDatabase({ dialect: 'sqlite', filename })
  try {
    const { count } = await database.db
      .selectFrom('items')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow()
    if (Number(count) !== rows) await seedDatabase(database, { items: rows, users: 0, posts: 0 })
  } finally {
    await database.close()
  }
  return `sqlite:${filename}`
}

async function ensurePostgres(rows: number): Promise<string> {
  const name = `hotpath_bench_stream_${rows}`
  const admin = new URL(POSTGRES_URL)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString() })
  await client.connect()
  const exists = await client.query('select 1 from pg_database where datname = $1', [name])
  if (exists.rowCount === 0) await client.query(`create database ${name}`)
  await client.end()
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  const database = await createDatabase({ dialect: 'postgres', connectionString: url.toString() })
  try {
    const { count } = await database.db
      .selectFrom('items')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow()
    if (Number(count) !== rows) await seedDatabase(database, { items: rows, users: 0, posts: 0 })
  } finally {
    await database.close()
  }
  return url.toString()
}

/** A field of `/proc/<pid>/status` in MB (`VmHWM` is the peak RSS; `RssAnon` excludes mapped files). */
function statusMb(pid: number, field: 'VmHWM' | 'RssAnon'): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)
    return match ? Number(match[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

/** Sample the anonymous RSS (heap, buffers: what a leak or a buffered export grows) until stopped. */
function samplePeakAnon(pid: number): () => number | undefined {
  let peak: number | undefined
  const timer = setInterval(() => {
    const anon = statusMb(pid, 'RssAnon')
    if (anon !== undefined) peak = Math.max(peak ?? 0, anon)
  }, 20)
  return () => {
    clearInterval(timer)
    return peak
  }
}

/** Start the export server on a database, download `url`, and measure. */
async function measureServer(
  label: string,
  rows: number,
  databaseUrl: string,
  route: string,
): Promise<Omit<Measurement, 'round'>> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, databaseUrl], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = ''
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        const line = buffered.split('\n').find((candidate) => candidate.startsWith('{'))
        if (line) resolve((JSON.parse(line) as { port: number }).port)
      })
      child.once('exit', (code) => reject(new Error(`export server exited with ${code}`)))
    })
    const stopSampling = samplePeakAnon(child.pid!)
    const started = performance.now()
    const result = await new Promise<{ bytes: number; error?: string }>((resolve) => {
      http
        .get(`http://127.0.0.1:${port}${route}`, (response) => {
          let bytes = 0
          response.on('data', (chunk: Buffer) => (bytes += chunk.length))
          response.on('end', () =>
            resolve(
              response.statusCode === 200 ? { bytes } : { bytes, error: `HTTP ${response.statusCode}` },
            ),
          )
          response.on('error', (error) => resolve({ bytes, error: error.message }))
        })
        .on('error', (error) => resolve({ bytes: 0, error: error.message }))
    })
    const seconds = (performance.now() - started) / 1000
    return {
      case: label,
      rows,
      seconds,
      bytes: result.bytes,
      peakRssMb: statusMb(child.pid!, 'VmHWM'),
      peakAnonMb: stopSampling(),
      error: result.error,
    }
  } finally {
    child.kill('SIGTERM')
  }
}

/** The SELECT of the service's COPY path (formulas neutralised, ISO timestamps), inlined. */
function copyPathSelect(): string {
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool() }) })
  const compiled = itemsCopyQuery(db, {}, ITEM_EXPORT_COLUMNS, true)
  return inlineParameters(compiled.sql, compiled.parameters)
}

function measurePsql(
  label: string,
  rows: number,
  databaseUrl: string,
  select: string,
): Omit<Measurement, 'round'> {
  const script = path.join(os.tmpdir(), `hotpath-bench-copy-${process.pid}.sql`)
  fs.writeFileSync(script, `\\copy (${select}) to stdout csv header\n`)
  const started = performance.now()
  // /usr/bin/time -f %M reports psql's peak RSS in KB on stderr; the CSV is counted, not kept.
  const run = spawnSync(
    'sh',
    ['-c', `/usr/bin/time -f 'RSS %M' psql -X -q "$0" -f "$1" | wc -c`, databaseUrl, script],
    { encoding: 'utf8' },
  )
  const seconds = (performance.now() - started) / 1000
  fs.rmSync(script, { force: true })
  const rss = /RSS (\d+)/.exec(run.stderr)
  return {
    case: label,
    rows,
    seconds,
    bytes: Number(run.stdout.trim()),
    peakRssMb: rss ? Number(rss[1]) / 1024 : undefined,
    peakAnonMb: undefined,
    error: run.status === 0 ? undefined : `psql exited with ${run.status}`,
  }
}

const results: Measurement[] = []
for (const rows of SIZES) {
  console.error(`preparing ${rows.toLocaleString('en')} rows…`)
  const sqliteUrl = await ensureSqlite(rows)
  const postgresUrl = await ensurePostgres(rows)
  type Case = [string, () => Promise<Omit<Measurement, 'round'>> | Omit<Measurement, 'round'>]
  const server = (label: string, url: string, route: string): Case => [
    label,
    () => measureServer(label, rows, url, route),
  ]
  const cases: Case[] = [
    server('sqlite (Kysely stream)', sqliteUrl, '/export/items.csv'),
    server('postgres cursor (pg-cursor)', postgresUrl, '/export/items.csv?via=cursor'),
    server('postgres COPY', postgresUrl, '/export/items.csv?via=copy'),
    server('naive buffered (sqlite)', sqliteUrl, '/naive/items.csv'),
    ['psql \\copy (limit)', () => measurePsql('psql \\copy (limit)', rows, postgresUrl, PSQL_QUERY)],
    // The same transport with the COPY path's SQL: separates the SQL's cost from the server's.
    [
      'psql \\copy, COPY-path SQL',
      () => measurePsql('psql \\copy, COPY-path SQL', rows, postgresUrl, copyPathSelect()),
    ],
  ]
  const chosen = cases.filter(([label]) => !SKIP.has(label.split(' ')[0]!))
  const rounds = rows <= ROUND_LIMIT ? ROUNDS : 1
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so that no case always runs first (cold caches) or after the same neighbour.
    const order = chosen.map((_, i) => chosen[(i + round) % chosen.length]!)
    for (const [label, run] of order) {
      console.error(`  ${rows.toLocaleString('en')} rows, round ${round + 1}/${rounds}: ${label}`)
      results.push({ ...(await run()), round })
    }
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const fmt = (n: number | undefined, digits = 0) => (n === undefined ? '—' : n.toFixed(digits))

console.log(
  `\nExport of every item as CSV (${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version})\n`,
)
console.log(
  '| case | rows | rounds | rows/s (median) | spread | MB/s | server peak RSS (MB, max) | peak anon RSS (MB, max) | vs psql \\copy (median) | min – max |',
)
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
const keys = [...new Set(results.map((r) => `${r.rows}\u0000${r.case}`))]
for (const key of keys) {
  const [rowsText, label] = key.split('\u0000') as [string, string]
  const rows = Number(rowsText)
  const own = results.filter((r) => r.rows === rows && r.case === label)
  const ok = own.filter((r) => !r.error)
  const rates = ok.map((r) => r.rows / r.seconds)
  const ratios = ok.flatMap((r) => {
    const psql = results.find(
      (o) => o.rows === rows && o.round === r.round && o.case === 'psql \\copy (limit)' && !o.error,
    )
    return psql ? [psql.seconds / r.seconds] : []
  })
  const spread = rates.length > 1 ? (Math.max(...rates) - Math.min(...rates)) / median(rates) : 0
  const maxOf = (pick: (m: Measurement) => number | undefined) => {
    const seen = own.map(pick).filter((v): v is number => v !== undefined)
    return seen.length ? Math.max(...seen) : undefined
  }
  const errors = own.filter((r) => r.error).map((r) => r.error)
  console.log(
    `| ${label} | ${rows.toLocaleString('en')} | ${own.length} | ` +
      `${rates.length ? Math.round(median(rates)).toLocaleString('en') : errors[0]} | ${(spread * 100).toFixed(0)}% | ` +
      `${ok.length ? median(ok.map((r) => r.bytes / 1e6 / r.seconds)).toFixed(1) : '—'} | ` +
      `${fmt(maxOf((m) => m.peakRssMb))} | ${fmt(maxOf((m) => m.peakAnonMb))} | ` +
      `${ratios.length ? median(ratios).toFixed(2) + 'x' : '—'} | ` +
      `${ratios.length ? `${Math.min(...ratios).toFixed(2)} – ${Math.max(...ratios).toFixed(2)}` : '—'} |`,
  )
}
