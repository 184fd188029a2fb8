import { describe, expect, it } from 'vitest'
import {
  createIndexSampler,
  createRandom,
  parseKeyDistribution,
  type KeyDistribution,
} from '../../../src/bench/index.js'
import { expectedProbabilities } from '../../../src/bench/key-distribution.js'
import { InvalidOptionError } from '../../../src/errors.js'

const SAMPLES = 200_000
const KEYS = 100
/** Chi-square critical value for 99 degrees of freedom at p = 0.001. */
const CHI2_CRITICAL_DF99 = 148.23

function histogram(dist: KeyDistribution, seed = 7, size = KEYS, samples = SAMPLES): number[] {
  const next = createIndexSampler(dist, size, createRandom(seed))
  const counts = new Array<number>(size).fill(0)
  for (let i = 0; i < samples; i++) {
    const index = next()
    counts[index] = (counts[index] ?? 0) + 1
  }
  return counts
}

function chiSquare(counts: number[], probabilities: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0)
  return counts.reduce((sum, observed, i) => {
    const expected = (probabilities[i] ?? 0) * total
    return sum + (observed - expected) ** 2 / expected
  }, 0)
}

describe('key distributions', () => {
  it('createRandom is deterministic per seed and uniform in [0, 1)', () => {
    const a = createRandom(42)
    const b = createRandom(42)
    const c = createRandom(43)
    const seqA = Array.from({ length: 5 }, a)
    expect(seqA).toEqual(Array.from({ length: 5 }, b))
    expect(seqA).not.toEqual(Array.from({ length: 5 }, c))
    const random = createRandom(1)
    let sum = 0
    let min = 1
    let max = 0
    for (let i = 0; i < 100_000; i++) {
      const value = random()
      min = Math.min(min, value)
      max = Math.max(max, value)
      sum += value
    }
    expect(min).toBeGreaterThanOrEqual(0)
    expect(max).toBeLessThan(1)
    expect(sum / 100_000).toBeCloseTo(0.5, 2)
  })

  it('zipf(s=1): rank 1 gets 1/H(100) of the draws and the histogram passes chi-square', () => {
    const counts = histogram({ kind: 'zipf', s: 1 })
    const expected = expectedProbabilities({ kind: 'zipf', s: 1 }, KEYS)
    // 1 / H(100) = 0.1928
    expect(expected[0]).toBeCloseTo(0.1928, 3)
    expect((counts[0] ?? 0) / SAMPLES).toBeCloseTo(0.1928, 2)
    // Monotone head: rank 1 > rank 2 > rank 3, and rank 2 is about half of rank 1.
    expect(counts[0]).toBeGreaterThan(counts[1] ?? 0)
    expect(counts[1]).toBeGreaterThan(counts[2] ?? 0)
    expect((counts[1] ?? 0) / (counts[0] ?? 1)).toBeCloseTo(0.5, 1)
    expect(chiSquare(counts, expected)).toBeLessThan(CHI2_CRITICAL_DF99)
  })

  it('zipf with a larger exponent concentrates more on the head', () => {
    const flat = histogram({ kind: 'zipf', s: 0.8 })
    const steep = histogram({ kind: 'zipf', s: 1.4 })
    expect(steep[0]).toBeGreaterThan((flat[0] ?? 0) * 1.5)
    expect(chiSquare(steep, expectedProbabilities({ kind: 'zipf', s: 1.4 }, KEYS))).toBeLessThan(
      CHI2_CRITICAL_DF99,
    )
  })

  it('zipf is not uniform: the uniform expectation fails chi-square', () => {
    const counts = histogram({ kind: 'zipf', s: 1 })
    expect(chiSquare(counts, expectedProbabilities({ kind: 'uniform' }, KEYS))).toBeGreaterThan(
      CHI2_CRITICAL_DF99 * 10,
    )
  })

  it('hot set: 10% of the keys get 90% of the draws, uniformly within each set', () => {
    const dist: KeyDistribution = { kind: 'hotset', hotFraction: 0.1, hotWeight: 0.9 }
    const counts = histogram(dist)
    const hot = counts.slice(0, 10).reduce((a, b) => a + b, 0)
    expect(hot / SAMPLES).toBeCloseTo(0.9, 2)
    expect(chiSquare(counts, expectedProbabilities(dist, KEYS))).toBeLessThan(CHI2_CRITICAL_DF99)
  })

  it('uniform passes chi-square against the uniform expectation', () => {
    const counts = histogram({ kind: 'uniform' })
    expect(chiSquare(counts, expectedProbabilities({ kind: 'uniform' }, KEYS))).toBeLessThan(
      CHI2_CRITICAL_DF99,
    )
  })

  it('never draws outside [0, size), even with one key', () => {
    for (const dist of [
      { kind: 'uniform' },
      { kind: 'zipf', s: 1.1 },
      { kind: 'hotset', hotFraction: 0.5, hotWeight: 0.5 },
    ] as KeyDistribution[]) {
      expect(new Set(histogram(dist, 3, 1, 1_000).keys())).toEqual(new Set([0]))
      const counts = histogram(dist, 3, 7, 10_000)
      expect(counts).toHaveLength(7)
      expect(counts.reduce((a, b) => a + b, 0)).toBe(10_000)
    }
  })

  it('parses flags and rejects bad parameters', () => {
    expect(parseKeyDistribution('uniform')).toEqual({ kind: 'uniform' })
    expect(parseKeyDistribution('zipf')).toEqual({ kind: 'zipf', s: 1 })
    expect(parseKeyDistribution('ZIPF:1.2')).toEqual({ kind: 'zipf', s: 1.2 })
    expect(parseKeyDistribution('hotset')).toEqual({ kind: 'hotset', hotFraction: 0.1, hotWeight: 0.9 })
    expect(parseKeyDistribution('hotset:0.2:0.8')).toEqual({
      kind: 'hotset',
      hotFraction: 0.2,
      hotWeight: 0.8,
    })
    for (const bad of [
      'zipf:0',
      'zipf:-1',
      'zipf:x',
      'hotset:1.5',
      'hotset:0.1:1',
      'gaussian',
      'uniform:3',
    ]) {
      expect(() => parseKeyDistribution(bad), bad).toThrow(InvalidOptionError)
    }
  })
})
