/**
 * Plateau and growth of a memory series sampled over a soak run: medians of the first and last
 * thirds, and the least-squares slope over the last two thirds (the first third is warm-up: JIT,
 * pools, caches filling). Steady growth is a slope above the threshold that the medians confirm.
 * Pure functions: unit-tested on synthetic series, leaking and flat.
 */

/** One sample: `t` in ms, `value` in bytes. */
export interface SeriesPoint {
  readonly t: number
  readonly value: number
}

export interface PlateauFigures {
  readonly samples: number
  readonly firstThirdMedian: number
  readonly lastThirdMedian: number
  /** Least-squares slope over the last two thirds, bytes per minute. */
  readonly slopePerMinute: number
}

export interface GrowthVerdict extends PlateauFigures {
  readonly maxSlopePerMinute: number
  /** Slope above the threshold and the last third's median above the first's. */
  readonly growing: boolean
}

/** Fewer samples than this cannot tell a plateau from a ramp. */
export const MIN_SAMPLES = 6

/** Median of `values`; NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** Least-squares slope of value over t (value units per t unit); 0 for fewer than 2 points. */
export function slope(points: readonly SeriesPoint[]): number {
  if (points.length < 2) return 0
  const n = points.length
  const meanT = points.reduce((sum, point) => sum + point.t, 0) / n
  const meanV = points.reduce((sum, point) => sum + point.value, 0) / n
  let covariance = 0
  let variance = 0
  for (const point of points) {
    covariance += (point.t - meanT) * (point.value - meanV)
    variance += (point.t - meanT) ** 2
  }
  return variance === 0 ? 0 : covariance / variance
}

/** Plateau figures of a series (in time order). */
export function plateau(points: readonly SeriesPoint[]): PlateauFigures {
  if (points.length < MIN_SAMPLES) {
    throw new RangeError(
      `soak: ${points.length} samples cannot show a plateau; run at least ${MIN_SAMPLES} s`,
    )
  }
  const third = Math.floor(points.length / 3)
  const values = points.map((point) => point.value)
  return {
    samples: points.length,
    firstThirdMedian: median(values.slice(0, third)),
    lastThirdMedian: median(values.slice(points.length - third)),
    slopePerMinute: slope(points.slice(third)) * 60_000,
  }
}

/**
 * Steady growth: the slope over the last two thirds exceeds `maxSlopePerMinute` and the last
 * third's median exceeds the first's (a ramp, not a sawtooth caught on its rising edge).
 *
 * @example
 * detectGrowth(samples, 2 * 2 ** 20).growing // true when the heap grows > 2 MiB/min
 */
export function detectGrowth(points: readonly SeriesPoint[], maxSlopePerMinute: number): GrowthVerdict {
  const figures = plateau(points)
  return {
    ...figures,
    maxSlopePerMinute,
    growing: figures.slopePerMinute > maxSlopePerMinute && figures.lastThirdMedian > figures.firstThirdMedian,
  }
}
