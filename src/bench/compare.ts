import { InvalidOptionError } from '../errors.js'
import { DEFAULT_ROUNDS } from './defaults.js'
import type { BenchResult } from './result.js'
import { runBench, type BenchOptions } from './run-bench.js'
import type { ResolvedScenario } from './scenario.js'
import { median, spreadOf, type Spread } from './stats.js'

/** One target of a comparison. */
export interface CompareTarget {
  name: string
  url: string
  /** @default one GET of `url` */
  scenario?: ResolvedScenario
}

/** Options of {@link runComparison}: every {@link BenchOptions} field but the target's own. */
export interface ComparisonOptions extends Omit<BenchOptions, 'url' | 'name' | 'scenario'> {
  targets: CompareTarget[]
  /** Interleaved rounds: A B A B ... @default 5 */
  rounds?: number
  /** Called before each single run (e.g. to start a fresh server or print progress). */
  beforeRun?: (round: number, target: CompareTarget) => void | Promise<void>
  /** Called after each single run. */
  afterRun?: (round: number, target: CompareTarget, result: BenchResult) => void | Promise<void>
}

/** Medians and spreads of one target over the rounds. */
export interface TargetSummary {
  name: string
  url: string
  engine: string
  rps: Spread
  avg: Spread
  p50: Spread
  p99: Spread
  /** Median error rate (fraction). */
  errorRate: number
  /** Median hit ratio from `X-Cache`, or null. */
  hitRatio: number | null
  /** Median percentile curve across rounds, for the chart. */
  percentiles: { p: number; ms: number }[]
  /** Rounds in which the load generator was saturated. */
  clientSaturatedRounds: number
  /** Median client CPU per request (µs). */
  clientUsPerRequest: number
}

/** `b / a` per round, paired within each round, summarised. */
export interface PairRatio {
  a: string
  b: string
  /** Throughput ratio `rps(b) / rps(a)`: > 1 means b is faster. */
  rps: Spread
  /** Tail latency ratio `p99(b) / p99(a)`: < 1 means b is faster. */
  p99: Spread
}

/** Several targets measured in interleaved rounds. */
export interface Comparison {
  kind: 'hotpath-bench-comparison'
  version: 1
  startedAt: string
  rounds: number
  targets: TargetSummary[]
  /** Every pair (i < j) in target order; the first target is the baseline of the first pairs. */
  ratios: PairRatio[]
  /** `runs[t][r]`: the result of target `t` in round `r`. */
  runs: BenchResult[][]
}

/**
 * Run several targets interleaved (A B A B ...), so that drift of the machine hits every target
 * alike, and report each pair's ratio with its median and spread over the rounds.
 *
 * @example
 * const comparison = await runComparison({
 *   targets: [
 *     { name: 'bare', url: 'http://127.0.0.1:3001/items/1' },
 *     { name: 'cached', url: 'http://127.0.0.1:3002/items/1' },
 *   ],
 *   rounds: 5,
 *   duration: '5s',
 *   engine: 'wrk',
 * })
 * comparison.ratios[0].rps.median // e.g. 3.1: cached serves 3.1x the requests
 */
export async function runComparison(options: ComparisonOptions): Promise<Comparison> {
  const { targets, rounds = DEFAULT_ROUNDS, beforeRun, afterRun, ...shared } = options
  if (targets.length < 1) throw new InvalidOptionError('targets', targets, 'at least one target')
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new InvalidOptionError('rounds', rounds, 'an integer >= 1')
  const startedAt = new Date().toISOString()
  const runs: BenchResult[][] = targets.map(() => [])
  for (let round = 0; round < rounds; round++) {
    for (const [index, target] of targets.entries()) {
      if (shared.signal?.aborted) break
      await beforeRun?.(round, target)
      const result = await runBench({
        ...shared,
        name: target.name,
        url: target.url,
        ...(target.scenario ? { scenario: target.scenario } : {}),
      })
      runs[index]?.push(result)
      await afterRun?.(round, target, result)
    }
  }
  return comparisonFromRuns(
    targets.map((target, index) => ({ name: target.name, results: runs[index] ?? [] })),
    startedAt,
  )
}

/**
 * Build a comparison from results grouped by target (saved runs, or rounds just measured).
 * Ratios are paired by round index when both targets have that round.
 */
export function comparisonFromRuns(
  groups: { name: string; results: BenchResult[] }[],
  startedAt = new Date().toISOString(),
): Comparison {
  const targets = groups.map((group) => summarizeTarget(group.name, group.results))
  const ratios: PairRatio[] = []
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      const a = groups[i]!
      const b = groups[j]!
      const paired = Math.min(a.results.length, b.results.length)
      const rps: number[] = []
      const p99: number[] = []
      for (let r = 0; r < paired; r++) {
        const ra = a.results[r]!
        const rb = b.results[r]!
        if (ra.requests.perSecond > 0) rps.push(rb.requests.perSecond / ra.requests.perSecond)
        if (ra.latency.p99 > 0) p99.push(rb.latency.p99 / ra.latency.p99)
      }
      ratios.push({ a: a.name, b: b.name, rps: spreadOf(rps), p99: spreadOf(p99) })
    }
  }
  return {
    kind: 'hotpath-bench-comparison',
    version: 1,
    startedAt,
    rounds: Math.max(0, ...groups.map((group) => group.results.length)),
    targets,
    ratios,
    runs: groups.map((group) => group.results),
  }
}

function summarizeTarget(name: string, results: BenchResult[]): TargetSummary {
  const hits = results.map((r) => r.server.hitRatio).filter((h): h is number => h !== null)
  const first = results[0]
  const curve = (first?.latency.percentiles ?? []).map(({ p }) => ({
    p,
    ms: median(results.map((r) => r.latency.percentiles.find((point) => point.p === p)?.ms ?? 0)),
  }))
  return {
    name,
    url: first?.url ?? '',
    engine: first?.engine ?? '',
    rps: spreadOf(results.map((r) => r.requests.perSecond)),
    avg: spreadOf(results.map((r) => r.latency.avg)),
    p50: spreadOf(results.map((r) => r.latency.p50)),
    p99: spreadOf(results.map((r) => r.latency.p99)),
    errorRate: median(results.map((r) => r.errors.rate)),
    hitRatio: hits.length === 0 ? null : median(hits),
    percentiles: curve,
    clientSaturatedRounds: results.filter((r) => r.client.saturated).length,
    clientUsPerRequest: median(results.map((r) => r.client.usPerRequest)),
  }
}

/**
 * Read saved reports (`--json` of a run or of a comparison) into groups for
 * {@link comparisonFromRuns}. Target names are made unique with the file label when they clash.
 */
export function groupsFromSaved(
  saved: { label: string; data: unknown }[],
): { name: string; results: BenchResult[] }[] {
  const groups: { name: string; results: BenchResult[] }[] = []
  for (const { label, data } of saved) {
    if (isResult(data)) groups.push({ name: data.target, results: [data] })
    else if (isComparison(data)) {
      data.targets.forEach((target, index) =>
        groups.push({ name: target.name, results: data.runs[index] ?? [] }),
      )
    } else {
      throw new InvalidOptionError(label, data, 'a JSON report written by `hotpath bench --json`')
    }
  }
  const counts = new Map<string, number>()
  for (const group of groups) counts.set(group.name, (counts.get(group.name) ?? 0) + 1)
  let position = 0
  for (const { label, data } of saved) {
    const size = isComparison(data) ? data.targets.length : 1
    for (let k = 0; k < size; k++, position++) {
      const group = groups[position]!
      if ((counts.get(group.name) ?? 0) > 1) group.name = `${label}:${group.name}`
    }
  }
  return groups
}

function isResult(data: unknown): data is BenchResult {
  return typeof data === 'object' && data !== null && (data as BenchResult).kind === 'hotpath-bench-result'
}

function isComparison(data: unknown): data is Comparison {
  return typeof data === 'object' && data !== null && (data as Comparison).kind === 'hotpath-bench-comparison'
}
