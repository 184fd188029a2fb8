import { InvalidOptionError } from '../errors.js'
import { DEFAULT_HOT_FRACTION, DEFAULT_HOT_WEIGHT, DEFAULT_ZIPF_S } from './defaults.js'
import type { Random } from './random.js'

/** How keys are drawn from their list of values. */
export type KeyDistribution =
  | { kind: 'uniform' }
  /** Rank `k` (1-based, in list order) is drawn with probability proportional to `1 / k^s`. */
  | { kind: 'zipf'; s: number }
  /** The first `hotFraction` of the values receives `hotWeight` of the draws. */
  | { kind: 'hotset'; hotFraction: number; hotWeight: number }

/** Draws one index in `[0, size)`. */
export type IndexSampler = () => number

/**
 * Parse a distribution flag: `uniform`, `zipf`, `zipf:1.2`, `hotset`, `hotset:0.1:0.9`
 * (10 % of the keys get 90 % of the requests).
 *
 * @example
 * parseKeyDistribution('zipf:1.1') // { kind: 'zipf', s: 1.1 }
 */
export function parseKeyDistribution(text: string, option = 'dist'): KeyDistribution {
  const [kind, ...args] = text.trim().toLowerCase().split(':')
  const numbers = args.map(Number)
  const expected = "'uniform', 'zipf[:s]' (s > 0) or 'hotset[:fraction[:weight]]' (both in (0, 1))"
  if (numbers.some((n) => !Number.isFinite(n))) throw new InvalidOptionError(option, text, expected)
  if (kind === 'uniform' && args.length === 0) return { kind: 'uniform' }
  if (kind === 'zipf' && args.length <= 1) {
    return validateKeyDistribution({ kind: 'zipf', s: numbers[0] ?? DEFAULT_ZIPF_S }, option)
  }
  if ((kind === 'hotset' || kind === 'hot') && args.length <= 2) {
    return validateKeyDistribution(
      {
        kind: 'hotset',
        hotFraction: numbers[0] ?? DEFAULT_HOT_FRACTION,
        hotWeight: numbers[1] ?? DEFAULT_HOT_WEIGHT,
      },
      option,
    )
  }
  throw new InvalidOptionError(option, text, expected)
}

/** Throw {@link InvalidOptionError} when a distribution's parameters are out of range. */
export function validateKeyDistribution(dist: KeyDistribution, option = 'dist'): KeyDistribution {
  if (dist.kind === 'zipf' && !(dist.s > 0 && Number.isFinite(dist.s))) {
    throw new InvalidOptionError(`${option}.s`, dist.s, 'a finite number > 0')
  }
  if (dist.kind === 'hotset') {
    if (!(dist.hotFraction > 0 && dist.hotFraction < 1)) {
      throw new InvalidOptionError(`${option}.hotFraction`, dist.hotFraction, 'a fraction in (0, 1)')
    }
    if (!(dist.hotWeight > 0 && dist.hotWeight < 1)) {
      throw new InvalidOptionError(`${option}.hotWeight`, dist.hotWeight, 'a fraction in (0, 1)')
    }
  }
  return dist
}

/**
 * Build a sampler of indexes in `[0, size)` following `dist`, driven by the seeded `random`.
 *
 * @example
 * const next = createIndexSampler({ kind: 'zipf', s: 1 }, 1000, createRandom(42))
 * next() // 0 most often, then 1, ...
 */
export function createIndexSampler(dist: KeyDistribution, size: number, random: Random): IndexSampler {
  if (!Number.isInteger(size) || size < 1) throw new InvalidOptionError('size', size, 'an integer >= 1')
  switch (dist.kind) {
    case 'uniform':
      return () => Math.floor(random() * size)
    case 'zipf':
      return createZipfSampler(size, dist.s, random)
    case 'hotset':
      return createHotSetSampler(size, dist.hotFraction, dist.hotWeight, random)
  }
}

/** Zipf by inverse CDF: one table of cumulative weights, then a binary search per draw. */
export function createZipfSampler(size: number, s: number, random: Random): IndexSampler {
  const cdf = new Float64Array(size)
  let total = 0
  for (let k = 0; k < size; k++) {
    total += 1 / Math.pow(k + 1, s)
    cdf[k] = total
  }
  return () => {
    const target = random() * total
    let low = 0
    let high = size - 1
    while (low < high) {
      const mid = (low + high) >>> 1
      if ((cdf[mid] as number) < target) low = mid + 1
      else high = mid
    }
    return low
  }
}

/** The first `ceil(hotFraction * size)` indexes receive `hotWeight` of the draws, uniformly. */
export function createHotSetSampler(
  size: number,
  hotFraction: number,
  hotWeight: number,
  random: Random,
): IndexSampler {
  const hot = Math.min(size, Math.max(1, Math.ceil(hotFraction * size)))
  const cold = size - hot
  return () => {
    if (cold === 0 || random() < hotWeight) return Math.floor(random() * hot)
    return hot + Math.floor(random() * cold)
  }
}

/** The expected probability of each index under `dist` (used by tests and reports). */
export function expectedProbabilities(dist: KeyDistribution, size: number): number[] {
  if (dist.kind === 'uniform') return Array.from({ length: size }, () => 1 / size)
  if (dist.kind === 'zipf') {
    const weights = Array.from({ length: size }, (_, k) => 1 / Math.pow(k + 1, dist.s))
    const total = weights.reduce((a, b) => a + b, 0)
    return weights.map((w) => w / total)
  }
  const hot = Math.min(size, Math.max(1, Math.ceil(dist.hotFraction * size)))
  const cold = size - hot
  if (cold === 0) return Array.from({ length: size }, () => 1 / size)
  return Array.from({ length: size }, (_, k) =>
    k < hot ? dist.hotWeight / hot : (1 - dist.hotWeight) / cold,
  )
}
