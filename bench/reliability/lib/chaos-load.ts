/**
 * Mixed traffic against the reference service with one record per request (start, end, kind,
 * outcome) and a log of acknowledged writes. The project's bench engines (autocannon, wrk) report
 * aggregates over a run; a chaos run needs each outcome on a timeline to split it by fault, so
 * this drives undici directly, with the bench's seeded key samplers for the id mix.
 */
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { createIndexSampler, createRandom, type KeyDistribution } from '../../../src/bench/index.js'

/** Share of each request kind; normalised, so `{ item: 85, list: 5, search: 5, write: 5 }` works. */
export interface TrafficMix {
  /** `GET /items/:id`, ids drawn from `distribution`. */
  item: number
  /** `GET /items?page=…&category=…` over a bounded set of pages. */
  list: number
  /** `GET /search/items?q=…` over a bounded set of words. */
  search: number
  /** `PUT /items/:id` (ids drawn like reads), a full replacement. */
  write: number
}

export const DEFAULT_MIX: TrafficMix = Object.freeze({ item: 85, list: 5, search: 5, write: 5 })

export interface LoadOptions {
  /** `http://127.0.0.1:port` of the service. */
  origin: string
  /** Ids `1..items` exist. */
  items: number
  /** Requests in flight (one connection each). @default 16 */
  connections?: number
  /** @default DEFAULT_MIX */
  mix?: TrafficMix
  /** @default { kind: 'zipf', s: 1 } */
  distribution?: KeyDistribution
  /** Seed of the key and mix sequence. @default 42 */
  seed?: number
  /** A request without a complete answer by then is a failure. @default 5000 */
  timeoutMs?: number
  /** Time origin of the records (`performance.now()` value). @default when the load starts */
  epoch?: number
  /**
   * Keep every record and acknowledged write; off, only {@link RunningLoad.counts} (long runs).
   * @default true
   */
  keepRecords?: boolean
}

export type RequestKind = 'read' | 'write'

/** One request: times in ms since the epoch; `status` 0 means no HTTP answer (timeout, reset). */
export interface RequestRecord {
  readonly start: number
  readonly end: number
  readonly kind: RequestKind
  readonly route: 'item' | 'list' | 'search' | 'write'
  readonly status: number
  readonly ok: boolean
}

/** A `PUT` the service answered 200: the version and name it acknowledged. */
export interface AckedWrite {
  readonly id: number
  readonly version: number
  readonly name: string
  readonly at: number
}

/** Words of the seeded item names and descriptions (`service/src/seed-data.ts`), a bounded set. */
const SEARCH_WORDS = ['lamp', 'chair', 'kettle', 'vintage', 'durable', 'light', 'tiny', 'zzz']
const LIST_PAGES = 5
const LIST_CATEGORIES = [undefined, 'books', 'kitchen', 'office']

/** A running load: records accumulate until {@link RunningLoad.stop}. */
export interface RunningLoad {
  readonly epoch: number
  readonly records: RequestRecord[]
  readonly acked: AckedWrite[]
  /** Totals, kept with or without records. */
  readonly counts: { reads: number; writes: number; failedReads: number; failedWrites: number }
  /** ms since the epoch. */
  now(): number
  /** Stop issuing requests and wait for those in flight. */
  stop(): Promise<void>
}

/** Start driving traffic; every request's outcome is recorded. */
export function startLoad(options: LoadOptions): RunningLoad {
  const connections = options.connections ?? 16
  const timeoutMs = options.timeoutMs ?? 5_000
  const mix = normalise(options.mix ?? DEFAULT_MIX)
  const random = createRandom(options.seed ?? 42)
  const nextId = createIndexSampler(options.distribution ?? { kind: 'zipf', s: 1 }, options.items, random)
  const epoch = options.epoch ?? performance.now()
  const now = () => performance.now() - epoch
  const pool = new Pool(options.origin, {
    connections,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 30_000,
  })
  const records: RequestRecord[] = []
  const acked: AckedWrite[] = []
  const counts = { reads: 0, writes: 0, failedReads: 0, failedWrites: 0 }
  const keep = options.keepRecords ?? true
  let running = true
  let sequence = 0

  const once = async (): Promise<void> => {
    const draw = random()
    const route: RequestRecord['route'] =
      draw < mix.item ? 'item' : draw < mix.list ? 'list' : draw < mix.search ? 'search' : 'write'
    const id = nextId() + 1
    const start = now()
    let status = 0
    let name = ''
    let body = ''
    try {
      const signal = AbortSignal.timeout(timeoutMs)
      if (route === 'write') {
        name = `chaos ${id} #${++sequence}`
        const payload = JSON.stringify({
          name,
          category: 'chaos',
          price: sequence % 100_000,
          description: '',
        })
        const response = await pool.request({
          method: 'PUT',
          path: `/items/${id}`,
          headers: { 'content-type': 'application/json' },
          body: payload,
          signal,
        })
        status = response.statusCode
        body = await response.body.text()
      } else {
        const response = await pool.request({ method: 'GET', path: pathOf(route, id, random), signal })
        status = response.statusCode
        await response.body.dump()
      }
    } catch {
      status = 0
    }
    const end = now()
    const ok = status >= 200 && status < 300
    if (route === 'write') {
      counts.writes++
      if (!ok) counts.failedWrites++
    } else {
      counts.reads++
      if (!ok) counts.failedReads++
    }
    if (!keep) return
    records.push({ start, end, kind: route === 'write' ? 'write' : 'read', route, status, ok })
    if (ok && route === 'write') {
      const item = JSON.parse(body) as { version: number; name: string }
      acked.push({ id, version: item.version, name: item.name, at: end })
    }
  }

  const worker = async (): Promise<void> => {
    while (running) await once()
  }
  const workers = Array.from({ length: connections }, () => worker())

  return {
    epoch,
    records,
    acked,
    counts,
    now,
    async stop() {
      running = false
      await Promise.all(workers)
      await pool.close()
    },
  }
}

function pathOf(route: 'item' | 'list' | 'search', id: number, random: () => number): string {
  if (route === 'item') return `/items/${id}`
  if (route === 'search') {
    const word = SEARCH_WORDS[Math.floor(random() * SEARCH_WORDS.length)] as string
    return `/search/items?q=${word}`
  }
  const page = 1 + Math.floor(random() * LIST_PAGES)
  const category = LIST_CATEGORIES[Math.floor(random() * LIST_CATEGORIES.length)]
  return category === undefined ? `/items?page=${page}` : `/items?page=${page}&category=${category}`
}

/** Cumulative thresholds in [0, 1]. */
function normalise(mix: TrafficMix): TrafficMix {
  const total = mix.item + mix.list + mix.search + mix.write
  if (!(total > 0) || [mix.item, mix.list, mix.search, mix.write].some((share) => share < 0)) {
    throw new TypeError(`traffic mix: shares must be >= 0 with a positive sum, got ${JSON.stringify(mix)}`)
  }
  const item = mix.item / total
  const list = item + mix.list / total
  const search = list + mix.search / total
  return { item, list, search, write: 1 }
}

/** Every path the traffic can read, so a run can warm them up before measuring. */
export function readPaths(items: number): string[] {
  const paths: string[] = []
  for (let id = 1; id <= items; id++) paths.push(`/items/${id}`)
  for (const word of SEARCH_WORDS) paths.push(`/search/items?q=${word}`)
  for (let page = 1; page <= LIST_PAGES; page++) {
    for (const category of LIST_CATEGORIES) {
      paths.push(category === undefined ? `/items?page=${page}` : `/items?page=${page}&category=${category}`)
    }
  }
  return paths
}
