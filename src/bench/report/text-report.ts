import type { BudgetEvaluation } from '../budget.js'
import type { Comparison } from '../compare.js'
import type { BenchResult } from '../result.js'
import type { Spread } from '../stats.js'

/** `0.123` → `0.123ms`, `12.3` → `12.3ms`, `1234` → `1.23s`. */
export function formatMs(ms: number): string {
  if (ms >= 1_000) return `${(ms / 1_000).toFixed(2)}s`
  if (ms >= 100) return `${ms.toFixed(0)}ms`
  if (ms >= 10) return `${ms.toFixed(1)}ms`
  return `${ms.toFixed(ms >= 1 ? 2 : 3)}ms`
}

/** Bytes per second in KB/MB/GB. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`
  return `${bytes.toFixed(0)} B`
}

/** Fraction as a percentage. */
export function formatPercent(fraction: number, digits = 2): string {
  return `${(fraction * 100).toFixed(digits)}%`
}

/** `12345.6` → `12,346`. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

/** `median (min–max, ±spread%)`. */
export function formatSpread(spread: Spread, format: (value: number) => string): string {
  if (spread.samples <= 1) return format(spread.median)
  return `${format(spread.median)} (${format(spread.min)}–${format(spread.max)}, spread ${formatPercent(spread.spread, 0)})`
}

/** Lay out rows as aligned columns (first column left-aligned, others right-aligned). */
export function table(rows: string[][]): string {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)))
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

/**
 * The human report of one run: latency table, errors by kind, throughput, server facts, client
 * CPU and (when given) the budget verdict.
 */
export function formatResult(result: BenchResult, budget?: BudgetEvaluation): string {
  const lines: string[] = []
  const o = result.options
  lines.push(
    `${result.target}  [${result.engine}, ${o.connections} connections, ${formatMs(o.durationMs)}` +
      `${o.warmupMs > 0 ? ` after ${formatMs(o.warmupMs)} warm-up` : ''}` +
      `${o.pipelining > 1 ? `, pipelining ${o.pipelining}` : ''}${o.rate !== null ? `, rate ${o.rate}/s` : ''}]`,
  )
  const l = result.latency
  lines.push(
    table([
      ['', 'req/s', 'avg', 'p50', 'p90', 'p99', 'p99.9', 'max'],
      [
        'result',
        formatCount(result.requests.perSecond),
        formatMs(l.avg),
        formatMs(l.p50),
        formatMs(l.p90),
        formatMs(l.p99),
        formatMs(l.p999),
        formatMs(l.max),
      ],
    ]),
  )
  const statuses = Object.entries(result.statusCodes)
    .map(([code, count]) => `${code}: ${formatCount(count)}`)
    .join(', ')
  lines.push(
    `requests  ${formatCount(result.requests.total)} in ${formatMs(result.durationMs)}, ` +
      `${formatBytes(result.throughput.bytesPerSecond)}/s${statuses ? ` (${statuses})` : ''}`,
  )
  const e = result.errors
  lines.push(
    `errors    ${formatPercent(e.rate, 3)}: HTTP >= 400 ${formatCount(e.http)}, timeouts ${formatCount(e.timeouts)}, ` +
      `resets ${formatCount(e.resets)}, other ${formatCount(e.other)}`,
  )
  const s = result.server
  if (s.hitRatio !== null) {
    const tiers = Object.entries(s.hitRatioByTier)
      .map(([tier, ratio]) => `${tier} ${formatPercent(ratio, 1)}`)
      .join(', ')
    const values = Object.entries(s.cacheValues)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([value, count]) => `${value} ${formatCount(count)}`)
      .join(', ')
    lines.push(
      `cache     hit ${formatPercent(s.hitRatio, 1)}${tiers ? ` (${tiers})` : ''}; X-Cache: ${values}`,
    )
  }
  const timings = Object.entries(s.timing)
  if (timings.length > 0) {
    lines.push(
      `server    ${timings.map(([name, t]) => `${name} ${formatMs(t.avgMs)} avg`).join(', ')} (Server-Timing)`,
    )
  }
  const c = result.client
  lines.push(
    `client    ${result.engine} used ${formatPercent(c.utilization, 0)} of a core, ${c.usPerRequest.toFixed(1)} µs CPU per request`,
  )
  if (c.warning) lines.push(`WARNING   ${c.warning}`)
  if (budget) lines.push(...formatBudget(budget))
  return lines.join('\n')
}

/** Budget lines: one per check, then the verdict. */
export function formatBudget(budget: BudgetEvaluation): string[] {
  const lines = budget.checks.map((check) => `${check.ok ? 'ok  ' : 'FAIL'}      ${check.line}`)
  lines.push(
    budget.ok ? 'budget    met' : `BUDGET VIOLATED: ${budget.violations.map((v) => v.line).join('; ')}`,
  )
  return lines
}

/** The human report of a comparison: per-target medians, then each pair's ratio. */
export function formatComparison(comparison: Comparison): string {
  const lines: string[] = [`${comparison.rounds} interleaved round(s); medians, with min–max and spread`]
  lines.push(
    table([
      ['target', 'req/s', 'spread', 'avg', 'p99', 'errors', 'hit', 'client µs/req'],
      ...comparison.targets.map((t) => [
        t.name,
        formatCount(t.rps.median),
        formatPercent(t.rps.spread, 0),
        formatMs(t.avg.median),
        formatMs(t.p99.median),
        formatPercent(t.errorRate, 3),
        t.hitRatio === null ? '-' : formatPercent(t.hitRatio, 1),
        `${t.clientUsPerRequest.toFixed(1)}${t.clientSaturatedRounds > 0 ? ' (saturated)' : ''}`,
      ]),
    ]),
  )
  if (comparison.ratios.length > 0) {
    lines.push('')
    lines.push(
      table([
        ['pair (b / a)', 'req/s ratio', 'min–max', 'p99 ratio'],
        ...comparison.ratios.map((r) => [
          `${r.b} / ${r.a}`,
          `${r.rps.median.toFixed(2)}x`,
          `${r.rps.min.toFixed(2)}–${r.rps.max.toFixed(2)}`,
          `${r.p99.median.toFixed(2)}x`,
        ]),
      ]),
    )
  }
  const saturated = comparison.targets.filter((t) => t.clientSaturatedRounds > 0)
  if (saturated.length > 0) {
    lines.push(
      `WARNING   the load generator saturated a core while measuring ${saturated.map((t) => t.name).join(', ')}: ` +
        'those numbers are the client limit, not the server. Use --engine wrk.',
    )
  }
  return lines.join('\n')
}
