/**
 * Text summary and HTML page (RSS and heap over time) of a soak run.
 */
import { escapeHtml, reliabilityPage, timeChartSvg } from './chaos-chart.js'
import type { GrowthVerdict } from './soak-analysis.js'
import type { SoakResult } from './soak-run.js'

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`

function verdictLine(name: string, verdict: GrowthVerdict): string {
  return [
    `${name.padEnd(16)}`,
    `first third ${mib(verdict.firstThirdMedian).padStart(10)}`,
    `last third ${mib(verdict.lastThirdMedian).padStart(10)}`,
    `slope ${`${mib(verdict.slopePerMinute)}/min`.padStart(14)} (max ${mib(verdict.maxSlopePerMinute)}/min)`,
    verdict.growing ? 'GROWING' : 'plateau',
  ].join('  ')
}

/** Plain-text summary: medians, slopes and the verdict. */
export function formatSoak(result: SoakResult): string {
  const s = result.settings
  const r = result.requests
  return [
    `soak: ${s.database}, ${s.connections} connections, ${s.items} items, mix ${JSON.stringify(s.mix)}, ${(s.durationMs / 1000).toFixed(0)} s after ${(s.warmupMs / 1000).toFixed(0)} s of warm-up, sample every ${s.sampleEveryMs} ms${s.gc ? ' (heap after a full GC)' : ''}`,
    `requests: ${r.reads} reads (${r.failedReads} failed), ${r.writes} writes (${r.failedWrites} failed)`,
    `samples: ${result.samples.length}; medians of the first and last thirds, slope over the last two thirds`,
    verdictLine(s.gc ? 'heap after GC' : 'heap used', result.heap),
    verdictLine('rss', result.rss),
    result.ok ? 'verdict: OK (memory plateaus)' : 'verdict: FAILED (steady memory growth)',
  ].join('\n')
}

/** HTML page with RSS and heap over time. */
export function soakHtml(result: SoakResult, command: string, facts: Record<string, string>): string {
  const x = (t: number) => t / 1000
  const toMib = (bytes: number) => bytes / 2 ** 20
  const series = [
    { name: 'rss', points: result.samples.map((s) => ({ x: x(s.t), y: toMib(s.rss) })) },
    { name: 'heap used', points: result.samples.map((s) => ({ x: x(s.t), y: toMib(s.heapUsed) })) },
  ]
  if (result.settings.gc) {
    series.push({
      name: 'heap after GC',
      points: result.samples.map((s) => ({
        x: x(s.t),
        y: s.heapAfterGc === null ? null : toMib(s.heapAfterGc),
      })),
    } as (typeof series)[number])
  }
  const chart = timeChartSvg(series, {
    title: 'Service memory over the run',
    yLabel: 'MiB',
    formatY: (y) => `${y.toFixed(0)} MiB`,
  })
  return reliabilityPage('hotpath soak', command, facts, [
    `<pre style="overflow-x: auto">${escapeHtml(formatSoak(result))}</pre>`,
    chart,
  ])
}
