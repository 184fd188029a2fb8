import { REPORTED_PERCENTILES } from './defaults.js'
import type { LatencySummary } from './result.js'

/** Median of a list (0 for an empty one). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Median, extremes and relative spread `(max - min) / median` of repeated measurements. */
export interface Spread {
  median: number
  min: number
  max: number
  /** `(max - min) / median`; 0.4 means the rounds varied by 40 % of the median. */
  spread: number
  samples: number
}

/** Summarise repeated measurements. */
export function spreadOf(values: readonly number[]): Spread {
  const m = median(values)
  const min = values.length === 0 ? 0 : Math.min(...values)
  const max = values.length === 0 ? 0 : Math.max(...values)
  return { median: m, min, max, spread: m === 0 ? 0 : (max - min) / m, samples: values.length }
}

/** Nearest-rank percentile of an ascending array. */
function percentileOfSorted(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number
}

/** Collects response times (ms) in a growable typed array. */
export class LatencyRecorder {
  #values = new Float64Array(1 << 16)
  #size = 0

  record(ms: number): void {
    if (this.#size === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2)
      grown.set(this.#values)
      this.#values = grown
    }
    this.#values[this.#size++] = ms
  }

  get count(): number {
    return this.#size
  }

  summary(): LatencySummary {
    const sorted = this.#values.slice(0, this.#size).sort()
    let sum = 0
    for (const value of sorted) sum += value
    const avg = sorted.length === 0 ? 0 : sum / sorted.length
    let squares = 0
    for (const value of sorted) squares += (value - avg) ** 2
    const at = (p: number) => percentileOfSorted(sorted, p)
    return {
      avg,
      stdev: sorted.length === 0 ? 0 : Math.sqrt(squares / sorted.length),
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] as number),
      percentiles: REPORTED_PERCENTILES.map((p) => ({ p, ms: at(p) })),
    }
  }
}
