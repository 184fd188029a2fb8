/**
 * Streaming export benchmark: rows/s, MB/s and the server's peak RSS for exporting every item as
 * CSV, through SQLite (Kysely `.stream()` on a read-only connection), the PostgreSQL cursor
 * (pg-cursor), the PostgreSQL COPY path, a naive buffered export, and `psql \copy` as the limit.
 * Each server case runs in a fresh process (peak RSS = its `VmHWM`); the client discards the bytes.
 * Prints a markdown table. Targets (issue 6): peak RSS at 5M rows within 32 MB of the peak at 1M;
 * PostgreSQL cursor >= 0.5x and COPY >= 0.9x the psql `\copy` rate.
 *
 *   npx tsx bench/stream/export.ts                       # 1M and 5M rows (seeds them once; minutes)
 *   npx tsx bench/stream/export.ts --rows 20000          # smoke run
 *   npx tsx bench/stream/export.ts --rows 1000000 --skip naive
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
  },
})
const SIZES = values.rows.split(',').map(Number)
const SKIP = new Set(values.skip.split(',').filter(Boolean))
const DATA_DIR = values['data-dir']
const PSQL_QUERY = 'select id, name, category, price, description, updated_at, version from items order by id'

interface Measurement {
  case: string
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
): Promise<Measurement> {
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

function measurePsql(label: string, rows: number, databaseUrl: string, select: string): Measurement {
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
  const cases: [string, string, string][] = [
    ['sqlite (Kysely stream)', sqliteUrl, '/export/items.csv'],
    ['postgres cursor (pg-cursor)', postgresUrl, '/export/items.csv?via=cursor'],
    ['postgres COPY', postgresUrl, '/export/items.csv?via=copy'],
    ['naive buffered (sqlite)', sqliteUrl, '/naive/items.csv'],
  ]
  for (const [label, url, route] of cases) {
    if (SKIP.has(label.split(' ')[0]!)) continue
    console.error(`  ${label}`)
    results.push(await measureServer(label, rows, url, route))
  }
  if (!SKIP.has('psql')) {
    results.push(measurePsql('psql \\copy (limit)', rows, postgresUrl, PSQL_QUERY))
    // The same transport with the COPY path's SQL: separates the SQL's cost from the server's.
    results.push(measurePsql('psql \\copy, COPY-path SQL', rows, postgresUrl, copyPathSelect()))
  }
}

console.log(
  `\nExport of every item as CSV (${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version})\n`,
)
console.log(
  '| case | rows | seconds | rows/s | MB/s | server peak RSS (MB) | peak anon RSS (MB) | vs psql \\copy |',
)
console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
for (const result of results) {
  const psql = results.find((other) => other.rows === result.rows && other.case.startsWith('psql'))
  const ratio = psql && !result.error ? (psql.seconds / result.seconds).toFixed(2) + 'x' : '—'
  console.log(
    `| ${result.case} | ${result.rows.toLocaleString('en')} | ${result.seconds.toFixed(2)} | ` +
      `${result.error ? result.error : Math.round(result.rows / result.seconds).toLocaleString('en')} | ` +
      `${(result.bytes / 1e6 / result.seconds).toFixed(1)} | ${result.peakRssMb?.toFixed(0) ?? '—'} | ${result.peakAnonMb?.toFixed(0) ?? '—'} | ${ratio} |`,
  )
}
