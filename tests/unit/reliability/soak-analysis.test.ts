import { describe, expect, it } from 'vitest'
import {
  detectGrowth,
  median,
  plateau,
  slope,
  type SeriesPoint,
} from '../../../bench/reliability/lib/soak-analysis.js'

const MIB = 2 ** 20

/** One sample per second for `seconds`, value from `at(second)`. */
function series(seconds: number, at: (second: number) => number): SeriesPoint[] {
  return Array.from({ length: seconds }, (_, second) => ({ t: second * 1_000, value: at(second) }))
}

/** A deterministic wobble in [-1, 1] (GC sawtooth and sampling noise). */
const wobble = (second: number) => Math.sin(second * 1.7) * Math.cos(second * 0.3)

describe('soak growth detector', () => {
  it('fires on a synthetic leak: +5 MiB per minute on a noisy 40 MiB heap (negative control)', () => {
    const leaking = series(20, (s) => 40 * MIB + (5 * MIB * s) / 60 + wobble(s) * 0.2 * MIB)
    const verdict = detectGrowth(leaking, 2 * MIB)
    expect(verdict.growing).toBe(true)
    expect(verdict.slopePerMinute).toBeGreaterThan(4 * MIB)
    expect(verdict.slopePerMinute).toBeLessThan(6 * MIB)
    expect(verdict.lastThirdMedian).toBeGreaterThan(verdict.firstThirdMedian)
  })

  it('fires on a leak that only starts after warm-up', () => {
    const late = series(600, (s) => 50 * MIB + (s < 200 ? 0 : ((s - 200) * 3 * MIB) / 60) + wobble(s) * MIB)
    expect(detectGrowth(late, 2 * MIB).growing).toBe(true)
  })

  it('passes a plateau with a sawtooth bigger than the threshold would allow as a trend', () => {
    const flat = series(20, (s) => 40 * MIB + wobble(s) * 3 * MIB)
    const verdict = detectGrowth(flat, 2 * MIB)
    expect(verdict.growing).toBe(false)
  })

  it('passes warm-up growth that levels off in the first third', () => {
    const warming = series(30, (s) => 30 * MIB + 10 * MIB * (1 - Math.exp(-s / 2)) + wobble(s) * 0.1 * MIB)
    expect(detectGrowth(warming, 2 * MIB).growing).toBe(false)
  })

  it('does not call a shrinking series growth even with a steep slope at its end', () => {
    const shrinking = series(21, (s) =>
      s < 7 ? 60 * MIB : s < 14 ? 30 * MIB : 30 * MIB + (s - 14) * 0.5 * MIB,
    )
    const verdict = detectGrowth(shrinking, 2 * MIB)
    expect(verdict.slopePerMinute).toBeGreaterThan(2 * MIB)
    expect(verdict.growing).toBe(false)
  })

  it('refuses a run too short to show a plateau', () => {
    expect(() => plateau(series(3, () => 1))).toThrow(/at least 6/)
  })

  it('computes medians and least-squares slopes', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(slope(series(10, (s) => 7 + 2 * s))).toBeCloseTo(2 / 1_000, 12)
    expect(slope([{ t: 0, value: 1 }])).toBe(0)
  })
})
