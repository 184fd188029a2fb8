import type { BudgetEvaluation } from '../budget.js'
import type { Comparison } from '../compare.js'
import type { BenchResult } from '../result.js'
import { formatBytes, formatCount, formatMs, formatPercent } from './text-report.js'

/** Extra content of an HTML report. */
export interface HtmlReportOptions {
  /** @default 'hotpath bench' */
  title?: string
  /** Budget verdict of a single run. */
  budget?: BudgetEvaluation
  /** Exact command line that produced the report. */
  command?: string
  /** Free-form facts (machine, versions) shown as a list. */
  facts?: Record<string, string>
  /** Further comparisons, each under its own heading (e.g. every group of a suite on one page). */
  sections?: { title: string; comparison: Comparison }[]
}

const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#ca8a04',
  '#db2777',
  '#4b5563',
  '#65a30d',
]

/** Escape text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * A latency-percentile chart as inline SVG: x is the percentile on a "nines" scale
 * (50, 90, 99, 99.9, ...), y the latency on a log scale; one line per series.
 */
export function latencyChartSvg(
  series: { name: string; percentiles: { p: number; ms: number }[] }[],
): string {
  const width = 720
  const height = 320
  const left = 64
  const right = 150
  const top = 16
  const bottom = 40
  const nines = (p: number) => Math.log10(1 / (1 - Math.min(p, 99.999) / 100))
  const points = series.flatMap((s) => s.percentiles)
  const values = points.map((point) => Math.max(point.ms, 0.001))
  const minLog = Math.floor(Math.log10(Math.min(...values, 1)))
  const maxLog = Math.ceil(Math.log10(Math.max(...values, 0.01)))
  const span = Math.max(1, maxLog - minLog)
  const maxNines = Math.max(2, ...points.map((point) => nines(point.p)))
  const x = (p: number) => left + (nines(p) / maxNines) * (width - left - right)
  const y = (ms: number) =>
    top + (1 - (Math.log10(Math.max(ms, 0.001)) - minLog) / span) * (height - top - bottom)
  const parts: string[] = []
  parts.push(
    `<svg class="chart latency-chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="Latency by percentile" xmlns="http://www.w3.org/2000/svg">`,
  )
  for (let e = minLog; e <= maxLog; e++) {
    const ms = 10 ** e
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(ms).toFixed(1)}" y2="${y(ms).toFixed(1)}" stroke="#e5e7eb"/>`,
    )
    parts.push(
      `<text x="${left - 6}" y="${(y(ms) + 4).toFixed(1)}" text-anchor="end" font-size="11">${escapeHtml(formatMs(ms))}</text>`,
    )
  }
  for (const p of [50, 90, 99, 99.9, 99.99]) {
    if (nines(p) > maxNines + 1e-9) continue
    parts.push(
      `<line x1="${x(p).toFixed(1)}" x2="${x(p).toFixed(1)}" y1="${top}" y2="${height - bottom}" stroke="#e5e7eb"/>`,
    )
    parts.push(
      `<text x="${x(p).toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle" font-size="11">p${p}</text>`,
    )
  }
  parts.push(
    `<text x="${(left + width - right) / 2}" y="${height - 6}" text-anchor="middle" font-size="12">percentile</text>`,
  )
  series.forEach((s, index) => {
    const color = PALETTE[index % PALETTE.length]
    const path = s.percentiles.map((point) => `${x(point.p).toFixed(1)},${y(point.ms).toFixed(1)}`).join(' ')
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${path}"/>`)
    for (const point of s.percentiles) {
      parts.push(
        `<circle cx="${x(point.p).toFixed(1)}" cy="${y(point.ms).toFixed(1)}" r="3" fill="${color}"><title>${escapeHtml(s.name)} p${point.p}: ${escapeHtml(formatMs(point.ms))}</title></circle>`,
      )
    }
    parts.push(
      `<rect x="${width - right + 12}" y="${top + index * 18}" width="10" height="10" fill="${color}"/>`,
    )
    parts.push(
      `<text x="${width - right + 26}" y="${top + index * 18 + 9}" font-size="11">${escapeHtml(truncate(s.name, 20))}</text>`,
    )
  })
  parts.push('</svg>')
  return parts.join('')
}

/** Horizontal bars (median requests/s per target) with a min–max whisker. */
export function throughputBarsSvg(
  bars: { name: string; median: number; min: number; max: number }[],
): string {
  const width = 720
  const left = 180
  const right = 110
  const row = 28
  const height = bars.length * row + 20
  const top = Math.max(1, ...bars.map((bar) => bar.max))
  const x = (value: number) => left + (value / top) * (width - left - right)
  const parts = [
    `<svg class="chart bars" viewBox="0 0 ${width} ${height}" role="img" aria-label="Requests per second" xmlns="http://www.w3.org/2000/svg">`,
  ]
  bars.forEach((bar, index) => {
    const y = 10 + index * row
    const color = PALETTE[index % PALETTE.length]
    parts.push(
      `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${escapeHtml(truncate(bar.name, 26))}</text>`,
    )
    parts.push(
      `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(bar.median) - left).toFixed(1)}" height="16" fill="${color}"><title>${escapeHtml(bar.name)}: ${formatCount(bar.median)} req/s</title></rect>`,
    )
    if (bar.max > bar.min) {
      parts.push(
        `<line x1="${x(bar.min).toFixed(1)}" x2="${x(bar.max).toFixed(1)}" y1="${y + 11}" y2="${y + 11}" stroke="#111" stroke-width="1.5"/>`,
      )
    }
    parts.push(
      `<text x="${(x(bar.max) + 6).toFixed(1)}" y="${y + 15}" font-size="12">${formatCount(bar.median)} req/s</text>`,
    )
  })
  parts.push('</svg>')
  return parts.join('')
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text
}

function resultTable(result: BenchResult): string {
  const l = result.latency
  const cells = [
    ['requests/s', formatCount(result.requests.perSecond)],
    ['latency avg', formatMs(l.avg)],
    ['p50', formatMs(l.p50)],
    ['p90', formatMs(l.p90)],
    ['p99', formatMs(l.p99)],
    ['p99.9', formatMs(l.p999)],
    ['max', formatMs(l.max)],
    ['throughput', `${formatBytes(result.throughput.bytesPerSecond)}/s`],
    [
      'errors',
      `${formatPercent(result.errors.rate, 3)} (HTTP ${result.errors.http}, timeouts ${result.errors.timeouts}, resets ${result.errors.resets}, other ${result.errors.other})`,
    ],
    [
      'cache hit',
      result.server.hitRatio === null ? 'no X-Cache header' : formatPercent(result.server.hitRatio, 1),
    ],
    [
      'client CPU',
      `${formatPercent(result.client.utilization, 0)} of a core, ${result.client.usPerRequest.toFixed(1)} µs/request`,
    ],
  ]
  for (const [tier, ratio] of Object.entries(result.server.hitRatioByTier))
    cells.push([`hit ${tier}`, formatPercent(ratio, 1)])
  for (const [name, t] of Object.entries(result.server.timing))
    cells.push([`Server-Timing ${name}`, `${formatMs(t.avgMs)} avg`])
  return `<table class="numbers">${cells.map(([k, v]) => `<tr><th>${escapeHtml(k ?? '')}</th><td>${escapeHtml(v ?? '')}</td></tr>`).join('')}</table>`
}

/** The HTML of one comparison: bars, latency chart, medians and ratios. */
export function comparisonHtml(comparison: Comparison): string {
  const rows = comparison.targets
    .map(
      (t) =>
        `<tr><td>${escapeHtml(t.name)}</td><td>${formatCount(t.rps.median)}</td><td>${formatPercent(t.rps.spread, 0)}</td><td>${escapeHtml(formatMs(t.avg.median))}</td><td>${escapeHtml(formatMs(t.p99.median))}</td><td>${formatPercent(t.errorRate, 3)}</td><td>${t.hitRatio === null ? '-' : formatPercent(t.hitRatio, 1)}</td></tr>`,
    )
    .join('')
  const ratios = comparison.ratios
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.b)} / ${escapeHtml(r.a)}</td><td>${r.rps.median.toFixed(2)}x</td><td>${r.rps.min.toFixed(2)}–${r.rps.max.toFixed(2)}</td><td>${r.p99.median.toFixed(2)}x</td></tr>`,
    )
    .join('')
  return [
    throughputBarsSvg(
      comparison.targets.map((t) => ({ name: t.name, median: t.rps.median, min: t.rps.min, max: t.rps.max })),
    ),
    latencyChartSvg(comparison.targets.map((t) => ({ name: t.name, percentiles: t.percentiles }))),
    `<table><thead><tr><th>target</th><th>req/s (median)</th><th>spread</th><th>avg</th><th>p99</th><th>errors</th><th>hit</th></tr></thead><tbody>${rows}</tbody></table>`,
    ratios
      ? `<table><thead><tr><th>pair (b / a)</th><th>req/s ratio (median)</th><th>min–max</th><th>p99 ratio</th></tr></thead><tbody>${ratios}</tbody></table>`
      : '',
    `<p class="note">${comparison.rounds} interleaved round(s); spread = (max − min) / median.</p>`,
  ].join('\n')
}

/**
 * A self-contained HTML page (inline CSS and SVG, no script, no CDN) for a run or a comparison.
 *
 * @example
 * await writeFile('out.html', renderHtmlReport(result, { budget: evaluateBudget(result, parseBudget()) }))
 */
export function renderHtmlReport(
  input: BenchResult | Comparison | null,
  options: HtmlReportOptions = {},
): string {
  const title = options.title ?? 'hotpath bench'
  const body: string[] = [`<h1>${escapeHtml(title)}</h1>`]
  if (options.command) body.push(`<pre class="command">${escapeHtml(options.command)}</pre>`)
  if (options.facts) {
    body.push(
      `<ul class="facts">${Object.entries(options.facts)
        .map(([k, v]) => `<li><b>${escapeHtml(k)}</b>: ${escapeHtml(v)}</li>`)
        .join('')}</ul>`,
    )
  }
  if (input?.kind === 'hotpath-bench-result') {
    body.push(`<h2>${escapeHtml(input.target)}</h2>`)
    body.push(
      `<p>${escapeHtml(input.engine)}, ${input.options.connections} connections, ${escapeHtml(formatMs(input.options.durationMs))}, ${escapeHtml(input.startedAt)}</p>`,
    )
    if (options.budget) {
      const b = options.budget
      body.push(
        `<div class="budget ${b.ok ? 'ok' : 'fail'}"><b>${b.ok ? 'Budget met' : 'BUDGET VIOLATED'}</b><ul>${b.checks.map((c) => `<li class="${c.ok ? 'ok' : 'fail'}">${escapeHtml(c.line)}</li>`).join('')}</ul></div>`,
      )
    }
    if (input.client.warning) body.push(`<p class="warning">${escapeHtml(input.client.warning)}</p>`)
    body.push(latencyChartSvg([{ name: input.target, percentiles: input.latency.percentiles }]))
    body.push(resultTable(input))
    body.push(
      throughputBarsSvg([
        {
          name: input.target,
          median: input.requests.perSecond,
          min: input.requests.perSecond,
          max: input.requests.perSecond,
        },
      ]),
    )
  } else if (input?.kind === 'hotpath-bench-comparison') {
    body.push(comparisonHtml(input))
  }
  for (const section of options.sections ?? []) {
    body.push(`<h2>${escapeHtml(section.title)}</h2>`)
    body.push(comparisonHtml(section.comparison))
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 820px; color: #111; padding: 0 1rem; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.chart { width: 100%; height: auto; margin: 1rem 0; font-family: system-ui, sans-serif; }
pre.command { background: #f3f4f6; padding: 8px; overflow-x: auto; }
.budget.ok { border-left: 4px solid #16a34a; padding-left: 8px; }
.budget.fail, .warning { border-left: 4px solid #dc2626; padding-left: 8px; }
li.fail { color: #dc2626; }
.note { color: #4b5563; }
</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`
}
