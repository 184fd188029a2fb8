/**
 * The verdict of the consistency checker: every read checked against the write log.
 *
 * Rules, per item:
 * - a read may return version `v` only if `v` was written (or was the item's version when the
 *   run started); anything else is a *phantom* read;
 * - a read's *staleness* is how long before the read started a newer version than the one it
 *   returned had been acknowledged: `max(0, read.startedAt − min{ack time of versions > v})`.
 *   A read that started within `boundMs` of that acknowledgement may still return the older
 *   version; later, it is a *violation*.
 *
 * Times are milliseconds on one monotonic clock (`performance.now()` of the checker process);
 * a write counts as acknowledged when its response arrived, which is after the service applied it.
 */

/** One acknowledged write. */
export interface WriteRecord {
  readonly id: number
  readonly version: number
  /** When the request was sent. */
  readonly sentAt: number
  /** When the acknowledgement (2xx response) arrived. */
  readonly ackedAt: number
}

/** One successful read. */
export interface ReadRecord {
  readonly id: number
  readonly version: number
  /** When the request was sent. */
  readonly startedAt: number
  /** When the response arrived. */
  readonly endedAt: number
  /** Which instance answered (its URL or name). */
  readonly reader: string
  /** `X-Cache` of the response (`hit-l1`, `hit-l2`, `miss`…), if any. */
  readonly source?: string | undefined
}

/** A read that returned an outdated version. */
export interface StaleRead extends ReadRecord {
  readonly stalenessMs: number
  /** The oldest newer version acknowledged before the read started. */
  readonly supersededBy: number
}

export interface ConsistencyVerdict {
  readonly boundMs: number
  readonly reads: number
  /** Reads older than some version acknowledged before they started (staleness > 0). */
  readonly staleReads: number
  /** Largest staleness of any read (0 when none was stale). */
  readonly worstStalenessMs: number
  /** 99th percentile staleness over all reads. */
  readonly p99StalenessMs: number
  /** Reads whose staleness exceeds `boundMs`. */
  readonly violations: number
  /** Reads of a version that was never written. */
  readonly phantomReads: number
  /** The worst read, for the report. */
  readonly worst: StaleRead | undefined
  /** Up to 5 violations and phantom reads, for the report. */
  readonly examples: readonly (StaleRead | (ReadRecord & { phantom: true }))[]
}

interface ItemLog {
  /** Versions ascending. */
  readonly versions: number[]
  /** Ack time of each version. */
  readonly acks: number[]
  /** `earliestAckAbove[i]` = earliest ack among versions[i+1..]; Infinity past the last. */
  readonly earliestAckAbove: number[]
}

function itemLogs(
  initial: ReadonlyMap<number, number>,
  writes: readonly WriteRecord[],
): Map<number, ItemLog> {
  const byId = new Map<number, Map<number, number>>()
  const add = (id: number, version: number, ackedAt: number) => {
    let versions = byId.get(id)
    if (versions === undefined) byId.set(id, (versions = new Map()))
    versions.set(version, Math.min(versions.get(version) ?? Number.POSITIVE_INFINITY, ackedAt))
  }
  // The starting version was acknowledged before the run began.
  for (const [id, version] of initial) add(id, version, Number.NEGATIVE_INFINITY)
  for (const write of writes) add(write.id, write.version, write.ackedAt)
  const logs = new Map<number, ItemLog>()
  for (const [id, acks] of byId) {
    const versions = [...acks.keys()].sort((a, b) => a - b)
    const ackTimes = versions.map((version) => acks.get(version) as number)
    const earliestAckAbove = new Array<number>(versions.length)
    let earliest = Number.POSITIVE_INFINITY
    for (let i = versions.length - 1; i >= 0; i--) {
      earliestAckAbove[i] = earliest
      earliest = Math.min(earliest, ackTimes[i] as number)
    }
    logs.set(id, { versions, acks: ackTimes, earliestAckAbove })
  }
  return logs
}

function indexOf(sorted: readonly number[], value: number): number {
  let low = 0
  let high = sorted.length - 1
  while (low <= high) {
    const middle = (low + high) >>> 1
    const found = sorted[middle] as number
    if (found === value) return middle
    if (found < value) low = middle + 1
    else high = middle - 1
  }
  return -1
}

/**
 * Check every read against the write log.
 *
 * @example
 * const verdict = checkConsistency(new Map([[1, 1]]), writes, reads, 1_000)
 * if (verdict.violations > 0 || verdict.phantomReads > 0) process.exitCode = 1
 *
 * @param initial each item's version when the run started
 * @param writes every acknowledged write
 * @param reads every successful read
 * @param boundMs the documented staleness bound
 */
export function checkConsistency(
  initial: ReadonlyMap<number, number>,
  writes: readonly WriteRecord[],
  reads: readonly ReadRecord[],
  boundMs: number,
): ConsistencyVerdict {
  const logs = itemLogs(initial, writes)
  const staleness: number[] = []
  const examples: (StaleRead | (ReadRecord & { phantom: true }))[] = []
  let staleReads = 0
  let violations = 0
  let phantomReads = 0
  let worst: StaleRead | undefined
  for (const read of reads) {
    const log = logs.get(read.id)
    const index = log === undefined ? -1 : indexOf(log.versions, read.version)
    if (log === undefined || index === -1) {
      phantomReads++
      if (examples.length < 5) examples.push({ ...read, phantom: true })
      staleness.push(0)
      continue
    }
    const supersededAt = log.earliestAckAbove[index] as number
    const ms = Math.max(0, read.startedAt - supersededAt)
    staleness.push(ms)
    if (ms === 0) continue
    staleReads++
    const newer = log.acks.findIndex((ack, i) => i > index && ack === supersededAt)
    const supersededBy = log.versions[newer] as number
    const stale: StaleRead = { ...read, stalenessMs: ms, supersededBy }
    if (worst === undefined || ms > worst.stalenessMs) worst = stale
    if (ms > boundMs) {
      violations++
      if (examples.length < 5) examples.push(stale)
    }
  }
  staleness.sort((a, b) => a - b)
  const p99 = staleness.length === 0 ? 0 : (staleness[Math.ceil(staleness.length * 0.99) - 1] as number)
  return {
    boundMs,
    reads: reads.length,
    staleReads,
    worstStalenessMs: worst?.stalenessMs ?? 0,
    p99StalenessMs: p99,
    violations,
    phantomReads,
    worst,
    examples,
  }
}
