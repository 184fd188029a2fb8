/**
 * The suite's comparisons, as data. Add a group (or a target) when a new server lands: a target
 * is any module exporting `start(port): Promise<{ close(): Promise<void> }>`. Targets whose module
 * does not exist yet are skipped and listed as such in `docs/benchmarks.md`.
 */

import type { TargetRuntime } from './spawn-target.js'

/** One server configuration. */
export interface HttpTargetSpec {
  name: string
  /** Module path from the repository root. */
  module: string
  /** @default 'start' */
  exportName?: string
  /** Extra environment of the server process. */
  env?: Record<string, string>
  /** How its TypeScript runs (see `TargetRuntime`). @default the suite's (`--runtime`, compiled) */
  runtime?: TargetRuntime
  /** Replay `If-None-Match` (exercises the 304 path). @default the group's */
  replayEtag?: boolean
  /** Path template for this target. @default the group's */
  path?: string
}

/**
 * A target an issue states as a throughput ratio: `b` serves at least `min` times the requests/s
 * of `a` (median of the per-round ratios), both targets of the same group.
 */
export interface RatioClaim {
  /** Issue number the claim comes from. */
  issue: number
  /** The claim as the issue states it. */
  text: string
  a: string
  b: string
  min: number
}

/** What every group shares. */
interface GroupBase {
  name: string
  title: string
  /** What the reader should learn from the group, one sentence. */
  question: string
  /** Issues whose benchmarks the group measures (`--only issue-N` selects them). */
  issues: number[]
  /**
   * Left out of the default run (too long, or needs the machine alone); run with `--only`.
   * @default false
   */
  optional?: boolean
}

/** Several HTTP targets loaded in interleaved rounds; the first one is the baseline of the ratios. */
export interface HttpGroup extends GroupBase {
  kind: 'http'
  /** Ratios the issues promise, checked against the medians. @default [] */
  claims?: RatioClaim[]
  targets: HttpTargetSpec[]
  /** Path template such as `/items/{id}` (ignored when `scenario` is given). */
  path: string
  /**
   * A scenario file (JSON, or TS) from the repository root for a request mix; each target's origin
   * replaces the scenario's `target`. @default one GET of `path`
   */
  scenario?: string
  /** Values of `{id}`. @default '1..10000' */
  ids?: string
  /** Key distribution. @default 'zipf' */
  dist?: string
  replayEtag?: boolean
  /** @default the suite's (wrk when installed) */
  engine?: 'wrk' | 'autocannon'
  /** @default 5 (2 with --quick) */
  rounds?: number
  /** @default '3s' ('1s' with --quick) */
  duration?: string
  /** @default '1s' */
  warmup?: string
  /** @default 50 */
  connections?: number
}

/** A micro benchmark script; it prints Markdown on stdout (a tinybench table), embedded as-is. */
export interface MicroGroup extends GroupBase {
  kind: 'micro'
  /** Script path from the repository root, run with tsx. */
  script: string
  args?: string[]
  /** Arguments in quick mode instead of `args`. @default [...args, '--quick'] */
  quickArgs?: string[]
  /** Kill the script after this long. @default 3 minutes */
  timeoutMs?: number
  /** Rough duration of a full run, for the suite's estimate. @default 60 */
  estimateSeconds?: number
}

export type BenchGroup = HttpGroup | MicroGroup

/** Issues 3 and 4 load a hot set of 1,000 ids with a zipf mix. */
const HOT_SET = { path: '/items/{id}', ids: '1..1000', dist: 'zipf' } as const
const SERVICE = 'bench/lib/service-target.ts'

const NODE_HTTP = { name: 'node:http precomputed bytes', module: 'bench/http/node-precomputed.ts' }
const FASTIFY_MAP = { name: 'bare Fastify + Map', module: 'bench/http/fastify-map.ts' }
const BENTOCACHE = { name: 'Fastify + BentoCache', module: 'bench/servers/peers/fastify-bentocache.ts' }
const CACHE_MANAGER = {
  name: 'Fastify + cache-manager',
  module: 'bench/servers/peers/fastify-cache-manager.ts',
}
const UNCACHED = { name: 'service uncached', module: SERVICE }

/**
 * The default suite (about 12 minutes) and the optional groups. Module paths under bench/http,
 * bench/cache, bench/stream and bench/strategies belong to other helpers.
 */
export const GROUPS: BenchGroup[] = [
  {
    kind: 'http',
    name: 'ceiling',
    title: 'Ceiling and fast lane: raw node:http vs Fastify vs Hotpath fast lane',
    question:
      'How far is each layer from the fastest a Node.js process can answer here, and does the fast lane reach it?',
    issues: [4, 8],
    ...HOT_SET,
    targets: [
      NODE_HTTP,
      FASTIFY_MAP,
      { name: 'Hotpath fast lane', module: 'bench/http/fast-lane.ts' },
      { name: 'service fast lane', module: SERVICE, exportName: 'startFastLane' },
    ],
    claims: [
      {
        issue: 4,
        text: 'fast-lane public hit >= 0.9x plain node:http writing precomputed bytes',
        a: NODE_HTTP.name,
        b: 'Hotpath fast lane',
        min: 0.9,
      },
      {
        issue: 4,
        text: 'the same, through the reference service (`HTTP_CACHE=on FAST_LANE=on`)',
        a: NODE_HTTP.name,
        b: 'service fast lane',
        min: 0.9,
      },
    ],
  },
  {
    kind: 'http',
    name: 'cache-aside',
    title: 'Service GET /items/{id}: Hotpath cache-aside vs peers',
    question: 'With a zipf mix over 1,000 hot ids, what does each cache buy over no cache at all?',
    issues: [3, 8],
    ...HOT_SET,
    targets: [
      UNCACHED,
      { name: 'Hotpath cache-aside L1', module: SERVICE, exportName: 'startL1' },
      // The peers run without Server-Timing or metrics: this row compares the cache alone.
      {
        name: 'Hotpath cache-aside L1, diagnostics off',
        module: SERVICE,
        exportName: 'startL1NoDiagnostics',
      },
      { name: 'Hotpath L1 + L2 (Redis)', module: SERVICE, exportName: 'startL1L2' },
      BENTOCACHE,
      CACHE_MANAGER,
      FASTIFY_MAP,
    ],
    claims: [
      {
        issue: 3,
        text: "cache-aside (L1 hit) >= 2x the uncached route's requests/s",
        a: UNCACHED.name,
        b: 'Hotpath cache-aside L1',
        min: 2,
      },
      {
        issue: 3,
        text: 'cache-aside (L1 hit) >= 0.85x a bare Fastify route serving the same bytes from a Map',
        a: FASTIFY_MAP.name,
        b: 'Hotpath cache-aside L1',
        min: 0.85,
      },
    ],
  },
  {
    kind: 'http',
    name: 'response-cache',
    title: 'Response cache hit vs bare Fastify + Map and BentoCache',
    question: 'How close does answering stored bytes come to a bare Map route, and how far past BentoCache?',
    issues: [4, 8],
    ...HOT_SET,
    targets: [
      FASTIFY_MAP,
      BENTOCACHE,
      { name: 'Hotpath response cache', module: 'bench/http/response-cache.ts' },
      { name: 'service response cache', module: SERVICE, exportName: 'startResponseCache' },
    ],
    claims: [
      {
        issue: 4,
        text: 'response-cache hit >= 0.9x the bare Fastify + Map route',
        a: FASTIFY_MAP.name,
        b: 'Hotpath response cache',
        min: 0.9,
      },
      {
        issue: 4,
        text: 'response-cache hit >= 1.5x Fastify + BentoCache getOrSet',
        a: BENTOCACHE.name,
        b: 'Hotpath response cache',
        min: 1.5,
      },
      {
        issue: 4,
        text: 'the same through the reference service (`HTTP_CACHE=on`) >= 0.9x bare Fastify + Map',
        a: FASTIFY_MAP.name,
        b: 'service response cache',
        min: 0.9,
      },
    ],
  },
  {
    kind: 'http',
    name: 'not-modified',
    title: '304 path: Hotpath vs @fastify/etag answering the same 304s',
    question: 'Every request replays the ETag it got before: what does answering 304 cost in each?',
    issues: [4, 8],
    ...HOT_SET,
    replayEtag: true,
    targets: [
      { name: 'Fastify + @fastify/etag', module: 'bench/http/fastify-etag.ts' },
      { name: 'Hotpath 304 path', module: 'bench/http/response-cache.ts' },
      { name: 'service 304 path', module: SERVICE, exportName: 'startResponseCache' },
    ],
    claims: [
      {
        issue: 4,
        text: '304 path >= 1.8x Fastify + @fastify/etag answering the same 304s',
        a: 'Fastify + @fastify/etag',
        b: 'Hotpath 304 path',
        min: 1.8,
      },
      {
        issue: 4,
        text: 'the same through the reference service',
        a: 'Fastify + @fastify/etag',
        b: 'service 304 path',
        min: 1.8,
      },
    ],
  },
  {
    kind: 'http',
    name: 'miss',
    title: 'Response cache miss vs the uncached route',
    question:
      'What does a miss (query, serialise, store the response) cost over not caching at all? Uniform over 10,000 ids, entries live 1 ms.',
    issues: [4],
    path: '/items/{id}',
    ids: '1..10000',
    dist: 'uniform',
    targets: [
      UNCACHED,
      { name: 'service response-cache miss', module: SERVICE, exportName: 'startResponseCacheMiss' },
    ],
    claims: [
      {
        issue: 4,
        text: 'a miss costs no more than 1.1x the uncached route (requests/s >= 1/1.1 = 0.91x)',
        a: UNCACHED.name,
        b: 'service response-cache miss',
        min: 1 / 1.1,
      },
    ],
  },
  {
    kind: 'http',
    name: 'overhead',
    title: 'Diagnostics overhead on cached GET /items/{id}',
    question:
      'What do the always-on parts (Server-Timing, metrics, N+1 counting, slow-query and blocking detectors) cost?',
    issues: [7],
    ...HOT_SET,
    rounds: 7,
    targets: [
      { name: 'service L1, diagnostics off', module: SERVICE, exportName: 'startL1NoDiagnostics' },
      { name: 'service L1, diagnostics on (default)', module: SERVICE, exportName: 'startL1' },
    ],
    claims: [
      {
        issue: 7,
        text: 'overhead <= 5% requests/s (on >= 0.95x off)',
        a: 'service L1, diagnostics off',
        b: 'service L1, diagnostics on (default)',
        min: 0.95,
      },
    ],
  },
  {
    kind: 'http',
    name: 'sensitivity',
    title: 'What a few microseconds of JavaScript per request cost in requests/s here',
    question:
      'Bare Fastify + Map with 0, 1, 2 and 4 µs of busy JavaScript added per request: how far does req/s fall for each?',
    issues: [3, 4, 7],
    optional: true,
    ...HOT_SET,
    rounds: 7,
    targets: [0, 1, 2, 4].map((us) => ({
      name: `bare Fastify + Map, +${us} µs/request`,
      module: 'bench/profiling/spin-target.ts',
      env: { BENCH_SPIN_US: String(us) },
    })),
  },
  {
    kind: 'http',
    name: 'runtime',
    title: 'The same servers compiled by tsc and transpiled by tsx',
    question:
      'How much do the per-request `__name` calls that tsx adds (esbuild keepNames) cost each server, and so why does the suite run compiled code?',
    issues: [3, 4, 7],
    optional: true,
    ...HOT_SET,
    targets: [
      FASTIFY_MAP,
      { ...FASTIFY_MAP, name: 'bare Fastify + Map (tsx)', runtime: 'tsx' },
      { name: 'Hotpath cache-aside L1', module: SERVICE, exportName: 'startL1' },
      { name: 'Hotpath cache-aside L1 (tsx)', module: SERVICE, exportName: 'startL1', runtime: 'tsx' },
    ],
  },
  {
    kind: 'micro',
    name: 'attribution',
    title: 'Where each server spends its CPU per request, by layer (CPU profiles under load)',
    question:
      'Which layer (kernel writes, Node.js http, Fastify, each part of Hotpath) does each ratio gap of issues 3, 4 and 7 come from?',
    issues: [3, 4, 7],
    optional: true,
    script: 'bench/profiling/attribution.ts',
    estimateSeconds: 420,
    timeoutMs: 15 * 60_000,
  },
  {
    kind: 'micro',
    name: 'cache-ops',
    title: 'Cache operations: Hotpath vs BentoCache vs cache-manager vs Map vs raw Redis',
    question: 'What does one get / set / getOrSet cost in each library, in process and through Redis?',
    issues: [3, 8],
    script: 'bench/cache/cache-ops.ts',
    estimateSeconds: 100,
  },
  {
    kind: 'micro',
    name: 'serialization',
    title: 'Serialization: JSON.stringify vs schema-compiled vs msgpackr',
    question: 'What does encoding one item and a 50-item page cost with each encoder?',
    issues: [8],
    script: 'bench/lib/micro/serialization.ts',
    estimateSeconds: 60,
  },
  {
    kind: 'micro',
    name: 'codec',
    title: 'Cache value codec: JSON vs msgpackr',
    question: 'Which codec should the cache store values with (encode + decode of an item and a page)?',
    issues: [3],
    script: 'bench/cache/codec.ts',
    estimateSeconds: 40,
  },
  {
    kind: 'micro',
    name: 'overhead-parts',
    title: 'Diagnostics overhead, part by part (autocannon, minimal app)',
    question:
      'Which always-on part costs what: request context, Server-Timing, metrics, profiling hooks, all together?',
    issues: [7],
    optional: true,
    script: 'bench/profiling/overhead.ts',
    args: [
      '--rounds',
      '6',
      '--duration',
      '5',
      '--variants',
      'off,context,server-timing,metrics,profiling,all',
    ],
    quickArgs: ['--rounds', '2', '--duration', '1', '--variants', 'off,all'],
    timeoutMs: 10 * 60_000,
    estimateSeconds: 200,
  },
  {
    kind: 'micro',
    name: 'write-behind',
    title: 'PUT /items/{id}: write-behind vs write-through',
    question:
      'Over a hot set of 1,000 ids with 50 connections, how much faster is write-behind, and how far behind does the database fall?',
    issues: [5],
    optional: true,
    script: 'bench/strategies/put.ts',
    estimateSeconds: 90,
    args: ['--duration', '10', '--connections', '50', '--backends', 'sqlite,postgres'],
    quickArgs: ['--duration', '2', '--connections', '50', '--backends', 'sqlite'],
    timeoutMs: 10 * 60_000,
  },
  {
    kind: 'micro',
    name: 'export',
    title: 'Streaming export: SQLite, PostgreSQL cursor and COPY vs naive and psql \\copy',
    question: 'At 1M and 5M rows, what rows/s and peak RSS does each export path reach?',
    issues: [6],
    optional: true,
    script: 'bench/stream/export.ts',
    estimateSeconds: 900,
    args: [],
    quickArgs: ['--rows', '20000'],
    timeoutMs: 30 * 60_000,
  },
  {
    kind: 'micro',
    name: 'workers',
    title: 'hotpath serve --workers 1 vs 2: cached and uncached GET /items/{id}',
    question:
      'On this machine, with wrk sharing the cores, how many more requests/s does a second worker serve, cached and uncached?',
    issues: [9],
    optional: true,
    script: 'bench/scale/workers.ts',
    estimateSeconds: 150,
    args: ['--rounds', '5', '--duration', '5s'],
    quickArgs: ['--quick'],
    timeoutMs: 10 * 60_000,
  },
]
