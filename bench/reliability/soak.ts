/**
 * Soak (issue 10, item 3): the reference service under mixed traffic for a long time, RSS and heap
 * sampled every second from the service process; prints the plateau (medians of the first and
 * last thirds, slope over the last two thirds), writes JSON and an HTML chart, exits 1 on steady
 * growth above the thresholds.
 *
 *   npx tsx bench/reliability/soak.ts                          # 10 minutes, SQLite + private Redis
 *   npx tsx bench/reliability/soak.ts --duration 30s --warmup 5s   # a quick check
 *   npx tsx bench/reliability/soak.ts --duration 30m --database postgres --max-heap-slope 1
 *
 * Thresholds are MiB per minute (`--max-heap-slope`, default 2; `--max-rss-slope`, default 8).
 * Ports: Redis 7310, PostgreSQL 7392 (`--redis-port`, `--pg-port`).
 */
import { parseArgs } from 'node:util'
import { parseDuration } from '../../src/util/duration.js'
import { writeRunReports } from './lib/chaos-report.js'
import { formatSoak, soakHtml } from './lib/soak-report.js'
import { runSoak, DEFAULT_MAX_HEAP_SLOPE, DEFAULT_MAX_RSS_SLOPE } from './lib/soak-run.js'

const MIB = 2 ** 20
const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10m' },
    warmup: { type: 'string', default: '30s' },
    database: { type: 'string', default: 'sqlite' },
    connections: { type: 'string', default: '16' },
    items: { type: 'string', default: '10000' },
    'sample-every': { type: 'string', default: '1s' },
    'no-gc': { type: 'boolean', default: false },
    'max-heap-slope': { type: 'string', default: String(DEFAULT_MAX_HEAP_SLOPE / MIB) },
    'max-rss-slope': { type: 'string', default: String(DEFAULT_MAX_RSS_SLOPE / MIB) },
    'redis-port': { type: 'string', default: '7310' },
    'pg-port': { type: 'string', default: '7392' },
    json: { type: 'string', default: 'bench/results/soak.json' },
    html: { type: 'string', default: 'bench/results/soak.html' },
  },
})

function positive(value: string, flag: string, integer = true): number {
  const number = Number(value)
  if (!(number > 0) || (integer && !Number.isInteger(number))) {
    throw new TypeError(
      `--${flag}: expected a ${integer ? 'whole ' : ''}number > 0, got ${JSON.stringify(value)}`,
    )
  }
  return number
}

if (flags.database !== 'sqlite' && flags.database !== 'postgres') {
  throw new TypeError(`--database: expected sqlite or postgres, got ${JSON.stringify(flags.database)}`)
}
const result = await runSoak({
  durationMs: parseDuration(flags.duration, 'duration'),
  warmupMs: parseDuration(flags.warmup, 'warmup'),
  sampleEveryMs: parseDuration(flags['sample-every'], 'sample-every'),
  database: flags.database,
  connections: positive(flags.connections, 'connections'),
  items: positive(flags.items, 'items'),
  gc: !flags['no-gc'],
  maxHeapSlopePerMinute: positive(flags['max-heap-slope'], 'max-heap-slope', false) * MIB,
  maxRssSlopePerMinute: positive(flags['max-rss-slope'], 'max-rss-slope', false) * MIB,
  redisPort: positive(flags['redis-port'], 'redis-port'),
  postgresPort: positive(flags['pg-port'], 'pg-port'),
  log: (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
})
console.log(formatSoak(result))

await writeRunReports({
  script: 'bench/reliability/soak.ts',
  result,
  json: flags.json,
  html: flags.html,
  page: (command, facts) => soakHtml(result, command, facts),
})
process.exitCode = result.ok ? 0 : 1
