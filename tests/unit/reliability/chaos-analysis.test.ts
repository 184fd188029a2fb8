import { describe, expect, it } from 'vitest'
import {
  analyseFaults,
  findLostWrites,
  percentile,
  timeline,
} from '../../../bench/reliability/lib/chaos-analysis.js'
import type { AckedWrite, RequestRecord } from '../../../bench/reliability/lib/chaos-load.js'

/** One read every 10 ms from `from` to `to`, each taking `latency(t)` ms and failing when `fails(t)`. */
function reads(
  from: number,
  to: number,
  latency: (t: number) => number,
  fails: (t: number) => boolean = () => false,
): RequestRecord[] {
  const records: RequestRecord[] = []
  for (let t = from; t < to; t += 10) {
    const ok = !fails(t)
    records.push({ start: t, end: t + latency(t), kind: 'read', route: 'item', status: ok ? 200 : 503, ok })
  }
  return records
}

describe('chaos analysis', () => {
  it('nearest-rank percentiles', () => {
    expect(percentile([], 99)).toBeNull()
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3)
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(99)
  })

  it('splits failures by kind, compares p99 and finds the first window back to baseline', () => {
    // Baseline 2 ms; during the fault (5000..7000) 400 ms; slow until 9000 after healing at 7000.
    const records = reads(0, 15_000, (t) =>
      t >= 5_000 && t < 7_000 ? 400 : t >= 7_000 && t < 9_000 ? 50 : 2,
    )
    records.push({ start: 5_500, end: 5_600, kind: 'write', route: 'write', status: 0, ok: false })
    const [fault] = analyseFaults(
      records,
      [{ name: 'redis-pause', injectedAt: 5_000, healedAt: 7_000, until: 15_000 }],
      {
        windowMs: 1_000,
        baselineMs: 3_000,
      },
    )
    expect(fault!.failedReads).toBe(0)
    expect(fault!.failedWrites).toBe(1)
    expect(fault!.failuresBy).toEqual({ 'write 0': 1 })
    expect(fault!.p99BeforeMs).toBe(2)
    expect(fault!.p99DuringMs).toBe(400)
    expect(fault!.recoveryMs).toBe(2_000)
  })

  it('reports no recovery when the gap never gets back to baseline', () => {
    const records = reads(0, 10_000, (t) => (t < 5_000 ? 2 : 300))
    const [fault] = analyseFaults(records, [
      { name: 'redis-kill', injectedAt: 5_000, healedAt: 6_000, until: 10_000 },
    ])
    expect(fault!.recoveryMs).toBeNull()
  })

  it('counts read failures outside a database outage separately from those overlapping it', () => {
    // The database is down 5000..6000; reads fail 5000..6000 (allowed) and at 8000 (not allowed).
    const records = reads(
      0,
      12_000,
      () => 5,
      (t) => (t >= 5_000 && t < 6_000) || t === 8_000,
    )
    const [fault] = analyseFaults(records, [
      { name: 'postgres-restart', injectedAt: 5_000, healedAt: 6_000, until: 12_000, databaseDown: true },
    ])
    expect(fault!.failedReads).toBe(101)
    expect(fault!.failedReadsDatabaseUp).toBe(1)
  })

  it('allows a read that starts before the next fault but is in flight when it stops the database', () => {
    const records = reads(0, 10_000, () => 5)
    // Started during the Redis fault's observation, cut off by the database stopping at 6000.
    records.push({ start: 5_990, end: 6_050, kind: 'read', route: 'item', status: 500, ok: false })
    // Started before the database stopped and failed before it did: not the database's doing.
    records.push({ start: 5_900, end: 5_950, kind: 'read', route: 'item', status: 500, ok: false })
    const [redis] = analyseFaults(records, [
      { name: 'redis-half-open', injectedAt: 2_000, healedAt: 3_000, until: 6_000 },
      { name: 'postgres-restart', injectedAt: 6_000, healedAt: 7_000, until: 10_000, databaseDown: true },
    ])
    expect(redis!.failedReads).toBe(2)
    expect(redis!.failedReadsDatabaseUp).toBe(1)
  })

  it('buckets a timeline by start time', () => {
    const windows = timeline(
      reads(
        0,
        2_000,
        () => 1,
        (t) => t === 1_500,
      ),
      2_000,
      1_000,
    )
    expect(windows.map((w) => [w.t, w.requests, w.failedReads])).toEqual([
      [0, 100, 0],
      [1_000, 100, 1],
    ])
  })

  it('finds acknowledged writes the database does not reflect', () => {
    const acked: AckedWrite[] = [
      { id: 1, version: 2, name: 'a2', at: 1 },
      { id: 1, version: 3, name: 'a3', at: 2 },
      { id: 2, version: 5, name: 'b5', at: 3 },
      { id: 3, version: 4, name: 'c4', at: 4 },
      { id: 4, version: 2, name: 'd2', at: 5 },
      { id: 5, version: 2, name: 'e2', at: 6 },
    ]
    const stored = new Map([
      [1, { version: 3, name: 'a3' }], // kept
      [2, { version: 4, name: 'b4' }], // rolled back: lost
      [3, { version: 4, name: 'other' }], // same version, other content: lost
      [4, { version: 3, name: 'unacknowledged later write' }], // superseded: fine
    ])
    const { checked, lost } = findLostWrites(acked, stored)
    expect(checked).toBe(5)
    expect(lost.map((write) => write.id).sort()).toEqual([2, 3, 5])
    expect(lost.find((write) => write.id === 5)!.stored).toBeNull()
  })
})
