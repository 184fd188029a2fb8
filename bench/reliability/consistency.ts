/**
 * Consistency checker (issue 10 item 1): writers bump the versions of a set of items through one
 * instance (`PATCH /items/:id` with `If-Match` naming the item's current version), readers on the
 * other instances read them continuously, and every read is checked against the write log
 * (`lib/consistency-check.ts`): a read may return only a written version, and never one older than
 * a version acknowledged more than the staleness bound before the read started.
 *
 * The bound is the cache's `l1TrustTimeout` (1 s by default, `DEFAULT_L1_TRUST_TIMEOUT`): a write
 * is acknowledged after its cache update reached Redis, which published the coherence message in
 * the same script, and an instance serves its L1 only while its own heartbeat came back through
 * that channel less than `l1TrustTimeout` ago (docs/architecture.md, "Staleness bound").
 *
 *   npx tsx bench/reliability/consistency.ts --duration 60s          # 3 fresh instances on PostgreSQL
 *   npx tsx bench/reliability/consistency.ts --duration 5m --items 200 --json consistency.json
 *   npx tsx bench/reliability/consistency.ts --writer http://a:3000 --readers http://b:3000,http://c:3000
 *
 * Exits 1 when the bound is exceeded, a phantom version is read, or nothing was read or written.
 */
import fs from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { DEFAULT_L1_TRUST_TIMEOUT } from '../../src/cache/defaults.js'
import { parseDuration } from '../../src/util/duration.js'
import {
  checkConsistency,
  type ConsistencyVerdict,
  type ReadRecord,
  type WriteRecord,
} from './lib/consistency-check.js'

/** The documented staleness bound of the service's L1 across instances. */
export const CONSISTENCY_BOUND_MS = DEFAULT_L1_TRUST_TIMEOUT
/** Concurrent read loops per reader instance. */
export const DEFAULT_READ_CONCURRENCY = 4
/** Concurrent write loops (each owns a disjoint share of the items). */
export const DEFAULT_WRITE_CONCURRENCY = 2
/** Pause between two writes of one write loop, so readers see each version from their L1 a while. */
export const DEFAULT_WRITE_PAUSE_MS = 20
/** One request never waits longer than this. */
const REQUEST_TIMEOUT_MS = 10_000
const ITEM_ETAG = /^"v(\d+)-/

export interface ConsistencyOptions {
  /** Base URL of the instance every write goes through. */
  writer: string
  /** Base URLs of the instances that read (the writer may be one of them). */
  readers: readonly string[]
  /** Ids of existing items the run writes and reads. */
  ids: readonly number[]
  /** How long writers and readers run. */
  duration: number | string
  /** Staleness allowed, in ms. @default CONSISTENCY_BOUND_MS (1000) */
  boundMs?: number
  /** @default 4 */
  readConcurrency?: number
  /** @default 2 */
  writeConcurrency?: number
  /** @default 20 */
  writePauseMs?: number
}

export interface ConsistencyReport extends ConsistencyVerdict {
  readonly durationMs: number
  readonly writes: number
  /** Writes answered with neither 2xx nor 412 (network error, 5xx). */
  readonly writeErrors: number
  /** 412 answers: someone else changed an item the run owns. */
  readonly writeConflicts: number
  /** Reads answered with an error (not 200). */
  readonly readErrors: number
  /** Reads per `X-Cache` value (`hit-l1`, `hit-l2`, `miss`, `none`). */
  readonly readsBySource: Readonly<Record<string, number>>
  /** Reads per reader URL. */
  readonly readsByReader: Readonly<Record<string, number>>
  /** Why the run failed; empty when it passed. */
  readonly failures: readonly string[]
  readonly ok: boolean
}

interface ItemState {
  etag: string
  version: number
}

function versionOf(etag: string): number {
  const match = ITEM_ETAG.exec(etag)
  if (match === null) throw new Error(`unexpected item ETag ${JSON.stringify(etag)}`)
  return Number(match[1])
}

async function readJson(
  pool: Pool,
  method: 'GET' | 'PATCH',
  pathname: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: unknown }> {
  const response = await pool.request({
    method,
    path: pathname,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  })
  const text = await response.body.text()
  return {
    status: response.statusCode,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * Run writers and readers for `duration` and check every read.
 *
 * @example
 * const report = await runConsistency({ writer: a.url, readers: [b.url, c.url], ids: [1, 2, 3], duration: '5s' })
 * if (!report.ok) throw new Error(report.failures.join('; '))
 */
export async function runConsistency(options: ConsistencyOptions): Promise<ConsistencyReport> {
  const durationMs = parseDuration(options.duration, 'duration')
  const boundMs = options.boundMs ?? CONSISTENCY_BOUND_MS
  const readConcurrency = options.readConcurrency ?? DEFAULT_READ_CONCURRENCY
  const writeConcurrency = Math.min(options.writeConcurrency ?? DEFAULT_WRITE_CONCURRENCY, options.ids.length)
  const writePauseMs = options.writePauseMs ?? DEFAULT_WRITE_PAUSE_MS
  if (options.ids.length === 0) throw new TypeError('consistency: "ids" must name at least one item')
  if (options.readers.length === 0)
    throw new TypeError('consistency: "readers" must name at least one instance')

  const writerPool = new Pool(options.writer, { connections: writeConcurrency + 1 })
  const readerPools = options.readers.map((url) => ({
    url,
    pool: new Pool(url, { connections: readConcurrency }),
  }))
  const writes: WriteRecord[] = []
  const reads: ReadRecord[] = []
  const readsBySource: Record<string, number> = {}
  const readsByReader: Record<string, number> = {}
  let writeErrors = 0
  let writeConflicts = 0
  let readErrors = 0

  try {
    // Each item's current version, read from the database through the writer.
    const state = new Map<number, ItemState>()
    const initial = new Map<number, number>()
    const current = async (id: number): Promise<ItemState> => {
      const response = await readJson(writerPool, 'GET', `/items/${id}`)
      const etag = header(response.headers, 'etag')
      if (response.status !== 200 || etag === undefined) {
        throw new Error(`consistency: GET ${options.writer}/items/${id} answered ${response.status}`)
      }
      return { etag, version: versionOf(etag) }
    }
    for (const id of options.ids) {
      const item = await current(id)
      state.set(id, item)
      initial.set(id, item.version)
    }

    const started = performance.now()
    const deadline = started + durationMs
    let counter = 0

    const writeLoop = async (share: readonly number[]) => {
      for (let turn = 0; performance.now() < deadline; turn++) {
        const id = share[turn % share.length] as number
        const item = state.get(id) as ItemState
        const sentAt = performance.now()
        try {
          const response = await readJson(writerPool, 'PATCH', `/items/${id}`, {
            headers: { 'if-match': item.etag },
            body: { name: `consistency ${id} #${++counter}` },
          })
          const ackedAt = performance.now()
          const etag = header(response.headers, 'etag')
          if (response.status === 200 && etag !== undefined) {
            const version = versionOf(etag)
            writes.push({ id, version, sentAt, ackedAt })
            state.set(id, { etag, version })
          } else if (response.status === 412) {
            writeConflicts++
            state.set(id, await current(id))
          } else {
            writeErrors++
          }
        } catch {
          writeErrors++
        }
        if (writePauseMs > 0) await new Promise((resolve) => setTimeout(resolve, writePauseMs))
      }
    }

    const readLoop = async (reader: { url: string; pool: Pool }) => {
      while (performance.now() < deadline) {
        const id = options.ids[Math.floor(Math.random() * options.ids.length)] as number
        const startedAt = performance.now()
        try {
          const response = await readJson(reader.pool, 'GET', `/items/${id}`)
          const endedAt = performance.now()
          const version = (response.body as { version?: unknown } | undefined)?.version
          if (response.status !== 200 || typeof version !== 'number') {
            readErrors++
            continue
          }
          const source = header(response.headers, 'x-cache')
          reads.push({ id, version, startedAt, endedAt, reader: reader.url, source })
          readsBySource[source ?? 'none'] = (readsBySource[source ?? 'none'] ?? 0) + 1
          readsByReader[reader.url] = (readsByReader[reader.url] ?? 0) + 1
        } catch {
          readErrors++
        }
      }
    }

    const shares = Array.from({ length: writeConcurrency }, (_, index) =>
      options.ids.filter((_, i) => i % writeConcurrency === index),
    )
    await Promise.all([
      ...shares.map((share) => writeLoop(share)),
      ...readerPools.flatMap((reader) => Array.from({ length: readConcurrency }, () => readLoop(reader))),
    ])
    const elapsed = performance.now() - started

    const verdict = checkConsistency(initial, writes, reads, boundMs)
    const failures: string[] = []
    if (verdict.violations > 0) {
      failures.push(
        `${verdict.violations} reads older than the bound (worst ${verdict.worstStalenessMs.toFixed(1)} ms > ${boundMs} ms)`,
      )
    }
    if (verdict.phantomReads > 0) failures.push(`${verdict.phantomReads} reads of a version never written`)
    if (reads.length === 0) failures.push('no successful read')
    if (writes.length === 0) failures.push('no acknowledged write')
    if (readErrors > 0) failures.push(`${readErrors} reads failed`)
    return {
      ...verdict,
      durationMs: elapsed,
      writes: writes.length,
      writeErrors,
      writeConflicts,
      readErrors,
      readsBySource,
      readsByReader,
      failures,
      ok: failures.length === 0,
    }
  } finally {
    await Promise.all([writerPool.close(), ...readerPools.map(({ pool }) => pool.close())])
  }
}

/** A short human report. */
export function formatConsistencyReport(report: ConsistencyReport): string {
  const sources = Object.entries(report.readsBySource)
    .map(([source, count]) => `${source} ${count}`)
    .join(', ')
  const perSecond = (count: number) => (count / (report.durationMs / 1000)).toFixed(0)
  const lines = [
    `| measure | value |`,
    `| --- | --- |`,
    `| duration | ${(report.durationMs / 1000).toFixed(1)} s |`,
    `| acknowledged writes | ${report.writes} (${perSecond(report.writes)}/s; errors ${report.writeErrors}, conflicts ${report.writeConflicts}) |`,
    `| reads checked | ${report.reads} (${perSecond(report.reads)}/s; ${sources}; errors ${report.readErrors}) |`,
    `| stale reads (older than an acknowledged write) | ${report.staleReads} |`,
    `| worst staleness | ${report.worstStalenessMs.toFixed(1)} ms |`,
    `| p99 staleness | ${report.p99StalenessMs.toFixed(1)} ms |`,
    `| bound | ${report.boundMs} ms |`,
    `| violations (staleness > bound) | ${report.violations} |`,
    `| phantom reads | ${report.phantomReads} |`,
    `| verdict | ${report.ok ? 'PASS' : `FAIL: ${report.failures.join('; ')}`} |`,
  ]
  return lines.join('\n')
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '60s' },
      instances: { type: 'string', default: '3' },
      items: { type: 'string', default: '50' },
      bound: { type: 'string', default: String(CONSISTENCY_BOUND_MS) },
      'read-concurrency': { type: 'string', default: String(DEFAULT_READ_CONCURRENCY) },
      'write-concurrency': { type: 'string', default: String(DEFAULT_WRITE_CONCURRENCY) },
      'write-pause': { type: 'string', default: String(DEFAULT_WRITE_PAUSE_MS) },
      writer: { type: 'string' },
      readers: { type: 'string' },
      json: { type: 'string' },
    },
  })
  const itemCount = Number(values.items)
  const ids = Array.from({ length: itemCount }, (_, i) => i + 1)
  const run = (writer: string, readers: string[]) =>
    runConsistency({
      writer,
      readers,
      ids,
      duration: values.duration,
      boundMs: parseDuration(values.bound, '--bound'),
      readConcurrency: Number(values['read-concurrency']),
      writeConcurrency: Number(values['write-concurrency']),
      writePauseMs: Number(values['write-pause']),
    })

  let report: ConsistencyReport
  let setup: string
  if (values.writer !== undefined) {
    const readers = (values.readers ?? values.writer).split(',').filter(Boolean)
    setup = `writer ${values.writer}, readers ${readers.join(', ')}, items 1..${itemCount}`
    report = await run(values.writer, readers)
  } else {
    const { clearRedisPrefixes, createServiceSchema, startServiceProcesses, stopServiceProcesses } =
      await import('../../tests/helpers/service-processes.js')
    const instances = Number(values.instances)
    if (!Number.isInteger(instances) || instances < 2)
      throw new TypeError('--instances must be an integer >= 2')
    const schema = await createServiceSchema({ label: 'consistency', items: itemCount })
    const prefix = `consistency-${process.pid}`
    try {
      const processes = await startServiceProcesses(instances, {
        databaseUrl: schema.url,
        cachePrefix: prefix,
        name: 'consistency',
      })
      try {
        const [writer, ...readers] = processes.map((p) => p.url)
        setup = `${instances} service processes (PostgreSQL schema ${schema.schema}, shared Redis), 1 writer + ${readers.length} readers, ${itemCount} items`
        console.error(`consistency: ${setup}; running ${values.duration}`)
        report = await run(writer as string, readers)
      } finally {
        await stopServiceProcesses(processes)
      }
    } finally {
      await schema.drop()
      await clearRedisPrefixes([prefix])
    }
  }
  console.log(`Consistency check: ${setup}\n`)
  console.log(formatConsistencyReport(report))
  if (report.worst !== undefined) {
    const w = report.worst
    console.log(
      `\nworst read: item ${w.id} v${w.version} from ${w.reader} (${w.source ?? 'no X-Cache'}), superseded by v${w.supersededBy} ${w.stalenessMs.toFixed(1)} ms before it started`,
    )
  }
  if (values.json !== undefined) {
    fs.writeFileSync(values.json, `${JSON.stringify({ setup, ...report }, null, 2)}\n`)
  }
  if (!report.ok) process.exitCode = 1
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exitCode = 1
  })
}
