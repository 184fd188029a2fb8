/**
 * Figures of a chaos run, computed from per-request records and the fault log: failures per fault
 * split by reads and writes, p99 before and during each fault, time to recover, and acknowledged
 * writes missing from the database. Pure functions: unit-tested without a server.
 */
import type { AckedWrite, RequestRecord } from './chaos-load.js'

/** One injected fault: times in ms since the run's epoch. */
export interface FaultSpan {
  readonly name: string
  readonly injectedAt: number
  /** When the fault was undone (server restarted, resumed, proxy thawed). */
  readonly healedAt: number
  /** End of this fault's observation (the next fault's injection or the end of the load). */
  readonly until: number
  /** Set when this fault takes the database away: reads failing then are allowed. */
  readonly databaseDown?: boolean
}

export interface AnalysisOptions {
  /** Width of a timeline window. @default 1000 */
  windowMs?: number
  /** Length of the "before" window ahead of each fault. @default 3000 */
  baselineMs?: number
  /** A window is back to baseline when its p99 is within this factor of the p99 before. @default 3 */
  p99Tolerance?: number
  /** ...or within this many ms of it (absolute slack for sub-millisecond baselines). @default 5 */
  p99SlackMs?: number
}

export const DEFAULT_ANALYSIS: Required<AnalysisOptions> = Object.freeze({
  windowMs: 1_000,
  baselineMs: 3_000,
  p99Tolerance: 3,
  p99SlackMs: 5,
})

/** Figures of one fault. Latencies in ms; `null` when there was nothing to measure. */
export interface FaultFigures {
  readonly name: string
  readonly injectedAt: number
  readonly healedAt: number
  readonly requests: number
  readonly failedReads: number
  readonly failedWrites: number
  /** Failed reads that did not overlap the database being down (target: 0). */
  readonly failedReadsDatabaseUp: number
  /** Failures by `"<route> <status>"` (status 0: no answer within the client timeout, or a reset). */
  readonly failuresBy: Readonly<Record<string, number>>
  readonly p99BeforeMs: number | null
  readonly p99DuringMs: number | null
  readonly maxDuringMs: number | null
  /** ms from healing to the start of the first window back to baseline; null if none was. */
  readonly recoveryMs: number | null
}

/** One timeline window. */
export interface WindowFigures {
  readonly t: number
  readonly requests: number
  readonly failedReads: number
  readonly failedWrites: number
  readonly p50Ms: number | null
  readonly p99Ms: number | null
}

/** Nearest-rank percentile of `values` (any order); null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] as number
}

const latency = (record: RequestRecord) => record.end - record.start

function startedIn(records: readonly RequestRecord[], from: number, to: number): RequestRecord[] {
  return records.filter((record) => record.start >= from && record.start < to)
}

/** Requests per window of `windowMs`, by start time, over `[0, end)`. */
export function timeline(records: readonly RequestRecord[], end: number, windowMs = 1_000): WindowFigures[] {
  const count = Math.max(1, Math.ceil(end / windowMs))
  const buckets: RequestRecord[][] = Array.from({ length: count }, () => [])
  for (const record of records) {
    const index = Math.floor(record.start / windowMs)
    if (index >= 0 && index < count) buckets[index]!.push(record)
  }
  return buckets.map((bucket, index) => summarise(bucket, index * windowMs))
}

function summarise(bucket: readonly RequestRecord[], t: number): WindowFigures {
  const latencies = bucket.map(latency)
  return {
    t,
    requests: bucket.length,
    failedReads: bucket.filter((record) => !record.ok && record.kind === 'read').length,
    failedWrites: bucket.filter((record) => !record.ok && record.kind === 'write').length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  }
}

/** Figures of each fault against the window just before it. */
export function analyseFaults(
  records: readonly RequestRecord[],
  faults: readonly FaultSpan[],
  options: AnalysisOptions = {},
): FaultFigures[] {
  const { windowMs, baselineMs, p99Tolerance, p99SlackMs } = { ...DEFAULT_ANALYSIS, ...options }
  // A request overlapping any database outage may fail (one that started just before the next
  // fault took the database away counts under the fault before); one wholly outside may not.
  const outages = faults.filter((fault) => fault.databaseDown === true)
  const overlapsOutage = (record: RequestRecord) =>
    outages.some((outage) => record.end >= outage.injectedAt && record.start <= outage.healedAt)
  return faults.map((fault) => {
    const before = startedIn(records, fault.injectedAt - baselineMs, fault.injectedAt)
    const p99Before = percentile(before.map(latency), 99)
    const failedBefore = before.filter((record) => !record.ok).length / Math.max(1, before.length)
    const during = startedIn(records, fault.injectedAt, fault.healedAt)
    const observed = startedIn(records, fault.injectedAt, fault.until)
    const failed = observed.filter((record) => !record.ok)
    const failedReads = failed.filter((record) => record.kind === 'read')
    let recoveryMs: number | null = null
    for (let t = fault.healedAt; t + windowMs <= fault.until; t += windowMs) {
      const window = startedIn(records, t, t + windowMs)
      if (window.length === 0) continue
      const errorRate = window.filter((record) => !record.ok).length / window.length
      const p99 = percentile(window.map(latency), 99) as number
      const p99Back = p99Before === null || p99 <= Math.max(p99Before * p99Tolerance, p99Before + p99SlackMs)
      if (errorRate <= failedBefore && p99Back) {
        recoveryMs = t - fault.healedAt
        break
      }
    }
    const duringLatencies = during.map(latency)
    return {
      name: fault.name,
      injectedAt: fault.injectedAt,
      healedAt: fault.healedAt,
      requests: observed.length,
      failedReads: failedReads.length,
      failedWrites: failed.length - failedReads.length,
      failedReadsDatabaseUp: failedReads.filter((record) => !overlapsOutage(record)).length,
      failuresBy: countBy(failed, (record) => `${record.route} ${record.status}`),
      p99BeforeMs: p99Before,
      p99DuringMs: percentile(duringLatencies, 99),
      maxDuringMs: duringLatencies.length === 0 ? null : Math.max(...duringLatencies),
      recoveryMs,
    }
  })
}

function countBy<T>(values: readonly T[], key: (value: T) => string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const value of values) counts[key(value)] = (counts[key(value)] ?? 0) + 1
  return counts
}

/** The row of an item as the database holds it after the run. */
export interface StoredItem {
  readonly version: number
  readonly name: string
}

/** An acknowledged write the database does not reflect. */
export interface LostWrite {
  readonly id: number
  readonly ackedVersion: number
  readonly ackedName: string
  readonly stored: StoredItem | null
}

/**
 * Compare the last acknowledged write of each id with the database: the row must have at least
 * that version, and exactly that name when the version is the same. A higher version is a later
 * write whose answer was lost (a timeout after the commit), not a lost write.
 */
export function findLostWrites(
  acked: readonly AckedWrite[],
  stored: ReadonlyMap<number, StoredItem>,
): { checked: number; lost: LostWrite[] } {
  const last = new Map<number, AckedWrite>()
  for (const write of acked) {
    const previous = last.get(write.id)
    if (previous === undefined || write.version > previous.version) last.set(write.id, write)
  }
  const lost: LostWrite[] = []
  for (const write of last.values()) {
    const row = stored.get(write.id) ?? null
    if (
      row === null ||
      row.version < write.version ||
      (row.version === write.version && row.name !== write.name)
    ) {
      lost.push({ id: write.id, ackedVersion: write.version, ackedName: write.name, stored: row })
    }
  }
  return { checked: last.size, lost }
}
