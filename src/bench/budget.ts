import { BenchBudgetError } from '../errors.js'
import { DEFAULT_BUDGET } from './defaults.js'
import type { BenchResult } from './result.js'

/** Metrics a budget can check. Latencies are in milliseconds; `errors` and `hit` are fractions. */
export type BudgetMetric = 'rps' | 'avg' | 'p50' | 'p90' | 'p99' | 'p999' | 'max' | 'errors' | 'hit'
/** Comparison of a budget check. */
export type BudgetOperator = '<' | '<=' | '>' | '>=' | '='

/** One parsed check such as `p99<=500ms` (threshold 500, in the metric's unit). */
export interface BudgetCheck {
  metric: BudgetMetric
  operator: BudgetOperator
  threshold: number
  /** The check as written. */
  source: string
}

/** Outcome of one check against a result. */
export interface BudgetCheckResult extends BudgetCheck {
  actual: number | null
  ok: boolean
  /** One line for humans, e.g. `p99 612.0ms violates p99<=500ms`. */
  line: string
}

/** Outcome of a whole budget. */
export interface BudgetEvaluation {
  ok: boolean
  checks: BudgetCheckResult[]
  /** Only the failed checks. */
  violations: BudgetCheckResult[]
}

const METRIC_ALIASES: Record<string, BudgetMetric> = {
  rps: 'rps',
  'req/s': 'rps',
  throughput: 'rps',
  avg: 'avg',
  mean: 'avg',
  latency: 'avg',
  p50: 'p50',
  median: 'p50',
  p90: 'p90',
  p99: 'p99',
  p999: 'p999',
  'p99.9': 'p999',
  max: 'max',
  errors: 'errors',
  error: 'errors',
  error_rate: 'errors',
  hit: 'hit',
  hit_ratio: 'hit',
  hits: 'hit',
}
const LATENCY_METRICS = new Set<BudgetMetric>(['avg', 'p50', 'p90', 'p99', 'p999', 'max'])
const RATIO_METRICS = new Set<BudgetMetric>(['errors', 'hit'])
const LATENCY_UNIT_MS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1_000, '': 1 }
const CHECK_PATTERN = /^\s*([a-z_./0-9]+?)\s*(<=|>=|<|>|==|=)\s*(\d+(?:\.\d+)?)\s*(%|us|µs|ms|s|k)?\s*$/i

/**
 * Parse a budget string. Latency thresholds accept `us`, `ms` (default) and `s`; `errors` and `hit`
 * accept a percentage (`0.1%`) or a fraction (`0.001`); `rps` accepts a `k` suffix.
 *
 * @example
 * parseBudget('rps>=1000,p99<=500ms,errors<=0.1%')
 * // [{ metric: 'rps', operator: '>=', threshold: 1000, ... }, ...]
 */
export function parseBudget(text: string = DEFAULT_BUDGET): BudgetCheck[] {
  const parts = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
  if (parts.length === 0) throw new BenchBudgetError(text, 'it is empty')
  return parts.map((part) => parseCheck(text, part))
}

function parseCheck(text: string, part: string): BudgetCheck {
  const match = CHECK_PATTERN.exec(part)
  if (!match) throw new BenchBudgetError(text, `cannot read the check ${JSON.stringify(part)}`)
  const [, rawMetric = '', rawOperator = '', rawNumber = '', rawUnit = ''] = match
  const metric = METRIC_ALIASES[rawMetric.toLowerCase()]
  if (!metric) {
    const known = [...new Set(Object.values(METRIC_ALIASES))].join(', ')
    throw new BenchBudgetError(text, `unknown metric ${JSON.stringify(rawMetric)} (known: ${known})`)
  }
  const operator = (rawOperator === '==' ? '=' : rawOperator) as BudgetOperator
  const unit = rawUnit.toLowerCase()
  let threshold = Number(rawNumber)
  if (LATENCY_METRICS.has(metric)) {
    const factor = LATENCY_UNIT_MS[unit]
    if (factor === undefined)
      throw new BenchBudgetError(text, `${metric} takes us, ms or s, not "${rawUnit}"`)
    threshold *= factor
  } else if (RATIO_METRICS.has(metric)) {
    if (unit === '%') threshold /= 100
    else if (unit !== '') throw new BenchBudgetError(text, `${metric} takes a percentage or a fraction`)
    if (threshold > 1) throw new BenchBudgetError(text, `${metric} must be at most 100%`)
  } else if (unit === 'k') {
    threshold *= 1_000
  } else if (unit !== '') {
    throw new BenchBudgetError(text, `rps takes a plain number or a k suffix, not "${rawUnit}"`)
  }
  return { metric, operator, threshold, source: part }
}

/** The value of a budget metric in a result (null when the result cannot tell, e.g. no `X-Cache`). */
export function budgetMetricValue(result: BenchResult, metric: BudgetMetric): number | null {
  switch (metric) {
    case 'rps':
      return result.requests.perSecond
    case 'errors':
      return result.errors.rate
    case 'hit':
      return result.server.hitRatio
    default:
      return result.latency[metric]
  }
}

function compare(actual: number, operator: BudgetOperator, threshold: number): boolean {
  switch (operator) {
    case '<':
      return actual < threshold
    case '<=':
      return actual <= threshold
    case '>':
      return actual > threshold
    case '>=':
      return actual >= threshold
    case '=':
      return actual === threshold
  }
}

/** Format a metric value in its natural unit. */
export function formatMetric(metric: BudgetMetric, value: number): string {
  if (LATENCY_METRICS.has(metric)) return `${value.toFixed(value < 10 ? 2 : 1)}ms`
  if (RATIO_METRICS.has(metric)) return `${(value * 100).toFixed(value < 0.01 ? 3 : 2)}%`
  return value.toFixed(1)
}

/**
 * Check a result against a budget. A metric the result cannot tell fails its check.
 *
 * @example
 * const evaluation = evaluateBudget(result, parseBudget('p99<=500ms'))
 * if (!evaluation.ok) process.exitCode = 1
 */
export function evaluateBudget(result: BenchResult, checks: readonly BudgetCheck[]): BudgetEvaluation {
  const evaluated = checks.map((check): BudgetCheckResult => {
    const actual = budgetMetricValue(result, check.metric)
    const ok = actual !== null && compare(actual, check.operator, check.threshold)
    const shown = actual === null ? 'unknown' : formatMetric(check.metric, actual)
    const line = ok
      ? `${check.metric} ${shown} meets ${check.source}`
      : `${check.metric} ${shown} violates ${check.source}`
    return { ...check, actual, ok, line }
  })
  const violations = evaluated.filter((check) => !check.ok)
  return { ok: violations.length === 0, checks: evaluated, violations }
}
