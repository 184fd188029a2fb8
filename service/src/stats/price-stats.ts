import { mulberry32 } from '../util/mulberry32.js'

/** Price statistics over a set of item prices (cents). */
export interface PriceStats {
  count: number
  min: number
  max: number
  mean: number
  stddev: number
  percentiles: { p50: number; p90: number; p95: number; p99: number }
  histogram: Array<{ from: number; to: number; count: number }>
  /** 95% bootstrap confidence interval of the median. */
  medianCi95: [number, number]
  bootstrapRounds: number
}

export interface PriceStatsOptions {
  /**
   * Histogram bins.
   * @default 20
   */
  bins?: number
  /**
   * Bootstrap resamples for the median's confidence interval (the CPU-heavy part: rounds x count).
   * @default 200
   */
  bootstrapRounds?: number
  /**
   * PRNG seed, so the same prices give the same answer inline and pooled.
   * @default 42
   */
  seed?: number
}

export const DEFAULT_BINS = 20
export const DEFAULT_BOOTSTRAP_ROUNDS = 200
const DEFAULT_SEED = 42

/**
 * Descriptive statistics, percentiles, a histogram and a bootstrap confidence interval of the median.
 * Pure and synchronous: CPU-bound on purpose, it is what the inline/pooled comparison runs.
 *
 * @example
 * computePriceStats(Float64Array.from([100, 250, 999]), { bootstrapRounds: 50 }).percentiles.p50 // 250
 */
export function computePriceStats(prices: Float64Array, options: PriceStatsOptions = {}): PriceStats {
  const bins = options.bins ?? DEFAULT_BINS
  const rounds = options.bootstrapRounds ?? DEFAULT_BOOTSTRAP_ROUNDS
  const count = prices.length
  if (count === 0) {
    return {
      count: 0,
      min: 0,
      max: 0,
      mean: 0,
      stddev: 0,
      percentiles: { p50: 0, p90: 0, p95: 0, p99: 0 },
      histogram: [],
      medianCi95: [0, 0],
      bootstrapRounds: rounds,
    }
  }
  const sorted = Float64Array.from(prices).sort()
  const min = sorted[0]!
  const max = sorted[count - 1]!
  let sum = 0
  for (const price of sorted) sum += price
  const mean = sum / count
  let squares = 0
  for (const price of sorted) squares += (price - mean) ** 2
  const stddev = Math.sqrt(squares / count)

  const width = max > min ? (max - min) / bins : 1
  const counts = new Array<number>(bins).fill(0)
  for (const price of sorted) counts[Math.min(bins - 1, Math.floor((price - min) / width))]!++
  const histogram = counts.map((binCount, i) => ({
    from: min + i * width,
    to: min + (i + 1) * width,
    count: binCount,
  }))

  const random = mulberry32(options.seed ?? DEFAULT_SEED)
  const sample = new Float64Array(count)
  const medians = new Float64Array(rounds)
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < count; i++) sample[i] = prices[Math.floor(random() * count)]!
    medians[round] = quickselect(sample, count >> 1)
  }
  medians.sort()

  return {
    count,
    min,
    max,
    mean,
    stddev,
    percentiles: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
    },
    histogram,
    medianCi95: rounds === 0 ? [0, 0] : [percentile(medians, 2.5), percentile(medians, 97.5)],
    bootstrapRounds: rounds,
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]!
}

/** The k-th smallest value (in place, Hoare partitioning). */
function quickselect(values: Float64Array, k: number): number {
  let left = 0
  let right = values.length - 1
  while (left < right) {
    const pivot = values[(left + right) >> 1]!
    let i = left
    let j = right
    while (i <= j) {
      while (values[i]! < pivot) i++
      while (values[j]! > pivot) j--
      if (i <= j) {
        const swap = values[i]!
        values[i] = values[j]!
        values[j] = swap
        i++
        j--
      }
    }
    if (k <= j) right = j
    else if (k >= i) left = i
    else break
  }
  return values[k]!
}
