/**
 * Chaos under load (issue 10, item 2): the reference service in its own process on a private Redis
 * (reached through a proxy that can go half-open) and a private PostgreSQL, mixed traffic, then
 * Redis SIGKILL + restart, Redis SIGSTOP + SIGCONT, a half-open Redis connection and a PostgreSQL
 * stop + start, each followed by a recovery gap. Prints a table per fault, writes JSON and HTML,
 * exits 1 when a target is missed (a read failed while the database was up, an acknowledged write
 * is missing, a fault never recovered).
 *
 *   npx tsx bench/reliability/chaos.ts                       # PostgreSQL, every fault (~75 s)
 *   npx tsx bench/reliability/chaos.ts --database sqlite     # SQLite, the Redis faults
 *   npx tsx bench/reliability/chaos.ts --quick               # 2 s faults, 4 s gaps
 *   npx tsx bench/reliability/chaos.ts --faults redis-kill,redis-pause --fault 3s --gap 6s
 *   npx tsx bench/reliability/chaos.ts --write-strategy behind --redis-appendfsync always
 *
 * Ports: Redis 7300 (+ a free port for the proxy), PostgreSQL 7390; `--redis-port`, `--pg-port`.
 */
import { parseArgs } from 'node:util'
import { parseDuration } from '../../src/util/duration.js'
import { chaosHtml, chaosVerdict, formatChaos, writeRunReports } from './lib/chaos-report.js'
import { FAULTS, runChaos, type FaultName } from './lib/chaos-run.js'

const { values: flags } = parseArgs({
  options: {
    database: { type: 'string', default: 'postgres' },
    faults: { type: 'string' },
    fault: { type: 'string' },
    gap: { type: 'string' },
    warmup: { type: 'string' },
    baseline: { type: 'string' },
    connections: { type: 'string' },
    items: { type: 'string' },
    timeout: { type: 'string' },
    'write-strategy': { type: 'string', default: 'through' },
    'redis-appendfsync': { type: 'string', default: 'off' },
    'redis-port': { type: 'string', default: '7300' },
    'pg-port': { type: 'string', default: '7390' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string', default: 'bench/results/chaos.json' },
    html: { type: 'string', default: 'bench/results/chaos.html' },
  },
})

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new TypeError(`--${flag}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1)
    throw new TypeError(`--${flag}: expected an integer >= 1, got ${value}`)
  return number
}

const duration = (value: string | undefined, quick: string, flag: string) =>
  value === undefined ? (flags.quick ? parseDuration(quick, flag) : undefined) : parseDuration(value, flag)

const database = oneOf(flags.database, ['postgres', 'sqlite'] as const, 'database')
const faults = flags.faults?.split(',').map((name) => oneOf(name.trim(), FAULTS, 'faults')) as
  FaultName[] | undefined
const options = {
  database,
  ...(faults === undefined ? {} : { faults }),
  faultMs: duration(flags.fault, '2s', 'fault'),
  gapMs: duration(flags.gap, '4s', 'gap'),
  warmupMs: duration(flags.warmup, '2s', 'warmup'),
  baselineMs: duration(flags.baseline, '3s', 'baseline'),
  connections: integer(flags.connections, 'connections'),
  items: integer(flags.items, 'items'),
  timeoutMs: flags.timeout === undefined ? undefined : parseDuration(flags.timeout, 'timeout'),
  writeStrategy: oneOf(flags['write-strategy'], ['through', 'behind'] as const, 'write-strategy'),
  redisAppendfsync: oneOf(
    flags['redis-appendfsync'],
    ['off', 'always', 'everysec'] as const,
    'redis-appendfsync',
  ),
  redisPort: integer(flags['redis-port'], 'redis-port'),
  postgresPort: integer(flags['pg-port'], 'pg-port'),
  log: (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
}
const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))

const result = await runChaos(defined)
const text = formatChaos(result)
console.log(text)

await writeRunReports({
  script: 'bench/reliability/chaos.ts',
  result,
  json: flags.json,
  html: flags.html,
  page: (command, facts) => chaosHtml(result, command, facts),
})
process.exitCode = chaosVerdict(result).ok ? 0 : 1
