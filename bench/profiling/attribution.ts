/**
 * Where each server's CPU goes per request, by layer: every target runs under V8's sampling CPU
 * profiler while wrk loads it (the hot set of issues 3 and 4), and the samples taken while wrk
 * measured are split into layers (the kernel's socket writes, Node's HTTP internals, Fastify, each
 * part of Hotpath, the service's routes…) and divided by the requests served. Put side by side,
 * two targets' columns say which layer a requests/s gap comes from: the measured cause of a
 * missed ratio, not a guess.
 *
 *   npx tsx bench/profiling/attribution.ts [--rounds 3] [--duration 6] [--quick] [--set issues|spin|payload|headers|worker]
 *   npm run bench -- --only attribution        # the same, embedded in docs/benchmarks.md
 *
 * Sampling every 250 µs costs each target some throughput (more for the slower ones); the figures
 * are for comparing layers and targets within one run, not absolute costs. A layer's µs per
 * request is the median over rounds.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

import { detectWrk, runBench, scenarioFromUrl } from '../../src/bench/index.js'
import { spawnTarget } from '../lib/spawn-target.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const SERVICE = 'bench/lib/service-target.ts'

interface Target {
  name: string
  module: string
  exportName?: string
  env?: Record<string, string>
  /** Uniform over ids 1..10000 instead of the zipf hot set. @default false */
  uniform?: boolean
}

const ISSUE_TARGETS: Target[] = [
  { name: 'node:http precomputed', module: 'bench/http/node-precomputed.ts' },
  { name: 'Hotpath fast lane', module: 'bench/http/fast-lane.ts' },
  { name: 'bare Fastify + Map', module: 'bench/http/fastify-map.ts' },
  { name: 'Hotpath response cache', module: 'bench/http/response-cache.ts' },
  { name: 'service L1, diagnostics off', module: SERVICE, exportName: 'startL1NoDiagnostics' },
  { name: 'service L1', module: SERVICE, exportName: 'startL1' },
  // Issue 4's miss claim loads both uniformly over 10,000 ids (as the `miss` group does).
  { name: 'service uncached (uniform)', module: SERVICE, exportName: 'start', uniform: true },
  {
    name: 'service response-cache miss (uniform)',
    module: SERVICE,
    exportName: 'startResponseCacheMiss',
    uniform: true,
  },
]

/** Gaps the issues' ratios are about: `b` minus `a`, per layer. */
const ISSUE_GAPS: [a: string, b: string][] = [
  ['node:http precomputed', 'Hotpath fast lane'],
  ['bare Fastify + Map', 'Hotpath response cache'],
  ['bare Fastify + Map', 'service L1'],
  ['service L1, diagnostics off', 'service L1'],
  ['service uncached (uniform)', 'service response-cache miss (uniform)'],
]

/**
 * The control experiment (`--set spin`): the same bare Fastify + Map server with 0, 2 and 4 µs of
 * busy JavaScript per request. Responses are byte for byte the same, so any change in the other
 * layers (the kernel's socket writes above all) is caused by the server being slower, not by what
 * it sends.
 */
const SPIN_TARGETS: Target[] = [0, 2, 4].map((us) => ({
  name: `bare Fastify + Map, +${us} µs`,
  module: 'bench/profiling/spin-target.ts',
  env: { BENCH_SPIN_US: String(us) },
}))
/**
 * `--set payload`: plain node:http sending the same item as a string or a Buffer, with its own
 * non-ASCII text or ASCII (bench/http/payload-kind.ts): what a route or a cache should hand Node.
 */
const PAYLOAD_TARGETS: Target[] = [
  ['Buffer', 'buffer', '0'],
  ['string', 'string', '0'],
  ['Buffer, ASCII', 'buffer', '1'],
  ['string, ASCII', 'string', '1'],
].map(([name, kind, ascii]) => ({
  name: `node:http, ${name}`,
  module: 'bench/http/payload-kind.ts',
  env: { BENCH_PAYLOAD: kind as string, BENCH_ASCII: ascii as string },
}))
const PAYLOAD_GAPS: [a: string, b: string][] = [
  ['node:http, Buffer', 'node:http, string'],
  ['node:http, Buffer, ASCII', 'node:http, string, ASCII'],
]
/**
 * `--set headers`: plain node:http sending the same bytes with the two headers of a bare route or
 * with the five more the service's cached item answer carries: their cost to Node and the kernel.
 */
const HEADER_TARGETS: Target[] = [
  { name: 'node:http, 2 headers', module: 'bench/http/payload-kind.ts' },
  {
    name: 'node:http, 7 headers (the service answer)',
    module: 'bench/http/payload-kind.ts',
    env: { BENCH_SERVICE_HEADERS: '1' },
  },
]
const HEADER_GAPS: [a: string, b: string][] = [
  ['node:http, 2 headers', 'node:http, 7 headers (the service answer)'],
]
const SPIN_GAPS: [a: string, b: string][] = [
  ['bare Fastify + Map, +0 µs', 'bare Fastify + Map, +2 µs'],
  ['bare Fastify + Map, +0 µs', 'bare Fastify + Map, +4 µs'],
]

/** Layers, in the order shown; the first whose test matches a sample's frame takes it. */
const LAYERS: { name: string; test: (url: string, fn: string) => boolean }[] = [
  { name: 'kernel: socket writes (`writev`)', test: (url, fn) => url === '' && /^write/.test(fn) },
  { name: 'garbage collector', test: (_url, fn) => fn === '(garbage collector)' },
  { name: 'V8 unattributed (`(program)`)', test: (_url, fn) => fn === '(program)' },
  { name: 'other native code and syscalls', test: (url) => url === '' },
  { name: 'Node.js http, net, streams, events', test: (url) => url.startsWith('node:') },
  {
    name: 'Fastify (router, hooks, reply, validation)',
    test: (url) =>
      /node_modules\/(fastify|find-my-way|fast-querystring|fast-uri|@fastify|toad-cache|avvio|ajv|fast-decode-uri-component|safe-regex2)\//.test(
        url,
      ),
  },
  { name: 'JSON serialization (fast-json-stringify)', test: (url) => url.includes('/fast-json-stringify/') },
  {
    name: 'database (Kysely, SQLite calls)',
    test: (url) => /node_modules\/(kysely|better-sqlite3|pg|pg-pool|pg-protocol)\//.test(url),
  },
  { name: 'logger (pino child per request)', test: (url) => /node_modules\/(pino|sonic-boom)/.test(url) },
  { name: 'Hotpath cache (`src/cache`, lru-cache)', test: (url) => /\/src\/cache\/|lru-cache/.test(url) },
  {
    name: 'Hotpath HTTP caching (`src/http`, http-cache plugin)',
    test: (url) => /\/src\/http\/|\/src\/fastify\/(http-cache|fast-lane)/.test(url),
  },
  {
    name: 'Hotpath diagnostics (Server-Timing, metrics, detectors)',
    test: (url) =>
      /\/src\/profiling\/|\/src\/fastify\/(server-timing|metrics|profiling)|prom-client/.test(url),
  },
  { name: 'service routes (`service/src`)', test: (url) => url.includes('/service/src/') },
  { name: 'bench target code', test: (url) => url.includes('/bench/') },
  { name: 'other JavaScript', test: () => true },
]
const IDLE = '(idle)'

/**
 * `--set worker`: the service with and without an idle piscina thread beside it
 * (`startL1IdleWorker`, the statistics pool as it was before it became lazy). A control: session 4
 * first blamed that thread for a slow phase of the service, and this A/B cleared it.
 */
const WORKER_TARGETS: Target[] = [
  { name: 'service L1, diagnostics off', module: SERVICE, exportName: 'startL1NoDiagnostics' },
  { name: 'the same + an idle piscina thread', module: SERVICE, exportName: 'startL1IdleWorker' },
]
const WORKER_GAPS: [a: string, b: string][] = [
  ['service L1, diagnostics off', 'the same + an idle piscina thread'],
]
const SETS = {
  issues: [ISSUE_TARGETS, ISSUE_GAPS],
  spin: [SPIN_TARGETS, SPIN_GAPS],
  payload: [PAYLOAD_TARGETS, PAYLOAD_GAPS],
  headers: [HEADER_TARGETS, HEADER_GAPS],
  worker: [WORKER_TARGETS, WORKER_GAPS],
} as const

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '50' },
    /** A key of `SETS`: `issues` (the targets of the issues' ratios) or one of the controls. */
    set: { type: 'string', default: 'issues' },
  },
})
if (!Object.hasOwn(SETS, flags.set as string)) {
  console.error(`--set must be one of ${Object.keys(SETS).join(', ')}, not ${flags.set}`)
  process.exit(2)
}
const [TARGETS, GAPS] = SETS[flags.set as keyof typeof SETS]
const rounds = Number(flags.rounds ?? (flags.quick ? 1 : 3))
const durationS = Number(flags.duration ?? (flags.quick ? 2 : 6))
const connections = Number(flags.connections)

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

/** µs per request of each layer (and idle) over the samples between `fromUs` and `toUs`. */
function attribute(profile: CpuProfile, fromUs: number, toUs: number, requests: number): Map<string, number> {
  const layerOf = new Map<number, string>()
  for (const node of profile.nodes) {
    const { url, functionName } = node.callFrame
    layerOf.set(
      node.id,
      functionName === IDLE ? IDLE : (LAYERS.find((layer) => layer.test(url, functionName))?.name ?? ''),
    )
  }
  const totals = new Map<string, number>()
  let time = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i] ?? 0
    if (time < fromUs || time > toUs) continue
    // A sample's delta is the time since the previous one: it belongs to this sample's frame.
    const layer = layerOf.get(profile.samples[i] as number) as string
    totals.set(layer, (totals.get(layer) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  for (const [layer, us] of totals) totals.set(layer, us / requests)
  return totals
}

async function profileOnce(
  target: Target,
  wrk: boolean,
): Promise<{ layers: Map<string, number>; rps: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hotpath-attribution-'))
  const server = await spawnTarget(path.join(ROOT, target.module), {
    ...(target.exportName ? { exportName: target.exportName } : {}),
    ...(target.env ? { env: target.env } : {}),
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250'],
  })
  try {
    const url = `${server.url}/items/{id}`
    const result = await runBench({
      url,
      scenario: scenarioFromUrl(
        url,
        target.uniform ? { ids: '1..10000', dist: 'uniform' } : { ids: '1..1000', dist: 'zipf' },
      ),
      engine: wrk ? 'wrk' : 'autocannon',
      connections,
      duration: `${durationS}s`,
      warmup: '2s',
      serverFacts: false,
    })
    // V8 stamps samples with the monotonic clock in µs, as hrtime reads it in this process.
    const endUs = Number(process.hrtime.bigint() / 1000n)
    await server.stop()
    const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'))
    if (file === undefined) throw new Error(`${target.name} wrote no CPU profile`)
    const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile
    // The measured window ends when runBench returns (less its report's few ms).
    const fromUs = endUs - durationS * 1e6
    const requests = result.requests.total * ((endUs - fromUs) / (durationS * 1e6))
    return { layers: attribute(profile, fromUs, endUs, requests), rps: result.requests.perSecond }
  } finally {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

const wrk = detectWrk() !== null
const samples = new Map<string, Map<string, number>[]>(TARGETS.map((target) => [target.name, []]))
const throughput = new Map<string, number[]>(TARGETS.map((target) => [target.name, []]))
for (let round = 0; round < rounds; round++) {
  for (const target of TARGETS) {
    process.stderr.write(`  round ${round + 1}/${rounds} ${target.name} ... `)
    const { layers, rps } = await profileOnce(target, wrk)
    samples.get(target.name)?.push(layers)
    throughput.get(target.name)?.push(rps)
    process.stderr.write(`${Math.round(rps).toLocaleString('en-US')} req/s (profiled)\n`)
  }
}

const medians = new Map<string, Map<string, number>>()
for (const target of TARGETS) {
  const runs = samples.get(target.name) ?? []
  const layers = new Map<string, number>()
  for (const layer of [...LAYERS.map((l) => l.name), IDLE]) {
    layers.set(layer, median(runs.map((run) => run.get(layer) ?? 0)))
  }
  medians.set(target.name, layers)
}
const busy = (name: string): number => {
  let sum = 0
  for (const [layer, us] of medians.get(name) ?? []) if (layer !== IDLE) sum += us
  return sum
}
const us = (value: number): string => value.toFixed(2)
const signed = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(2)}`

const lines: string[] = []
lines.push(
  `${rounds} round(s) of ${durationS} s per target, wrk ${connections} connections, hot set of 1,000 ids (zipf) unless marked uniform; CPU µs per request by layer (median over rounds), sampled every 250 µs.`,
  '',
  `| layer | ${TARGETS.map((t) => t.name).join(' | ')} |`,
  `| --- | ${TARGETS.map(() => '---:').join(' | ')} |`,
)
for (const layer of LAYERS) {
  lines.push(
    `| ${layer.name} | ${TARGETS.map((t) => us(medians.get(t.name)?.get(layer.name) ?? 0)).join(' | ')} |`,
  )
}
lines.push(`| **busy, all layers** | ${TARGETS.map((t) => `**${us(busy(t.name))}**`).join(' | ')} |`)
lines.push(
  `| idle (waiting for requests) | ${TARGETS.map((t) => us(medians.get(t.name)?.get(IDLE) ?? 0)).join(' | ')} |`,
)
lines.push(
  `| req/s while profiled (median) | ${TARGETS.map((t) => Math.round(median(throughput.get(t.name) ?? [0])).toLocaleString('en-US')).join(' | ')} |`,
)
lines.push('', 'Gaps, µs per request (b − a), largest first:', '')
for (const [a, b] of GAPS) {
  const total = busy(b) - busy(a)
  const parts = LAYERS.map((layer) => ({
    layer: layer.name,
    delta: (medians.get(b)?.get(layer.name) ?? 0) - (medians.get(a)?.get(layer.name) ?? 0),
  }))
    .filter((part) => Math.abs(part.delta) >= 0.05)
    .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta))
  lines.push(
    `- **${b} − ${a}: ${signed(total)} µs** = ${parts.map((part) => `${part.layer} ${signed(part.delta)}`).join('; ')}`,
  )
}
console.log(lines.join('\n'))
