/**
 * The suite's comparisons, as data. Add a group (or a target) when a new server lands: a target
 * is any module exporting `start(port): Promise<{ close(): Promise<void> }>`. Targets whose module
 * does not exist yet are skipped and listed as such in `docs/benchmarks.md`.
 */

/** One server configuration. */
export interface HttpTargetSpec {
  name: string
  /** Module path from the repository root. */
  module: string
  /** @default 'start' */
  exportName?: string
  /** Extra environment of the server process. */
  env?: Record<string, string>
  /** Replay `If-None-Match` (exercises the 304 path). @default the group's */
  replayEtag?: boolean
  /** Path template for this target. @default the group's */
  path?: string
}

/** Several HTTP targets loaded in interleaved rounds; the first one is the baseline of the ratios. */
export interface HttpGroup {
  kind: 'http'
  name: string
  title: string
  /** What the reader should learn from the group, one sentence. */
  question: string
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
  /** @default '5s' ('1s' with --quick) */
  duration?: string
  /** @default '1s' */
  warmup?: string
  /** @default 50 */
  connections?: number
}

/** A micro benchmark script; it prints Markdown on stdout (a tinybench table), embedded as-is. */
export interface MicroGroup {
  kind: 'micro'
  name: string
  title: string
  question: string
  /** Script path from the repository root, run with tsx; `--quick` is passed in quick mode. */
  script: string
  args?: string[]
}

export type BenchGroup = HttpGroup | MicroGroup

const ITEMS = { path: '/items/{id}', ids: '1..10000', dist: 'zipf' } as const

/** The default suite. Module paths under bench/http and bench/cache belong to other helpers. */
export const GROUPS: BenchGroup[] = [
  {
    kind: 'http',
    name: 'ceiling',
    title: 'Ceiling: raw node:http vs Fastify',
    question: 'How far is each framework layer from the fastest a Node.js process can answer here?',
    ...ITEMS,
    targets: [
      { name: 'node:http precomputed bytes', module: 'bench/http/node-precomputed.ts' },
      { name: 'bare Fastify + Map', module: 'bench/http/fastify-map.ts' },
    ],
  },
  {
    kind: 'http',
    name: 'cache-aside',
    title: 'Cache-aside on GET /items/{id}: Hotpath vs peers',
    question: 'With a zipf key mix over 10 000 items, what does each cache buy over no cache at all?',
    ...ITEMS,
    targets: [
      { name: 'service uncached', module: 'bench/lib/service-target.ts' },
      { name: 'Hotpath cache-aside L1', module: 'bench/lib/service-target.ts', exportName: 'startL1' },
      { name: 'Hotpath L1 + L2 (Redis)', module: 'bench/lib/service-target.ts', exportName: 'startL1L2' },
      { name: 'Fastify + BentoCache', module: 'bench/servers/peers/fastify-bentocache.ts' },
      { name: 'Fastify + cache-manager', module: 'bench/servers/peers/fastify-cache-manager.ts' },
    ],
  },
  {
    kind: 'http',
    name: 'http-cache',
    title: 'HTTP caching: response cache, 304 and ETags',
    question: 'How much does answering from stored bytes (or with a 304) save over serialising each time?',
    ...ITEMS,
    targets: [
      { name: 'Fastify + @fastify/etag', module: 'bench/http/fastify-etag.ts' },
      { name: 'Hotpath response cache', module: 'bench/http/response-cache.ts' },
      { name: 'Hotpath 304 path', module: 'bench/http/response-cache.ts', replayEtag: true },
      { name: 'Hotpath fast lane', module: 'bench/http/fast-lane.ts' },
    ],
  },
  {
    kind: 'micro',
    name: 'cache-ops',
    title: 'Cache operations: Hotpath vs BentoCache vs cache-manager',
    question: 'What does one get / set / getOrSet cost in each library, in process?',
    script: 'bench/cache/cache-ops.ts',
  },
  {
    kind: 'micro',
    name: 'serialization',
    title: 'Serialization: JSON.stringify vs schema-compiled vs msgpackr',
    question: 'What does encoding one item and a 50-item page cost with each encoder?',
    script: 'bench/lib/micro/serialization.ts',
  },
  {
    kind: 'micro',
    name: 'codec',
    title: 'Cache value codec: JSON vs msgpackr',
    question: 'Which codec should the cache store values with (encode + decode of an item and a page)?',
    script: 'bench/cache/codec.ts',
  },
]
