import { describe, expect, it } from 'vitest'
import {
  comparisonFromRuns,
  evaluateBudget,
  formatComparison,
  formatResult,
  groupsFromSaved,
  parseBudget,
  renderHtmlReport,
} from '../../../src/bench/index.js'
import { makeResult } from './make-result.js'

describe('text report', () => {
  it('shows the table, errors by kind, cache hit ratio by tier, Server-Timing, client CPU and the verdict', () => {
    const result = makeResult({ rps: 800, p99: 612 })
    const text = formatResult(result, evaluateBudget(result, parseBudget()))
    for (const expected of [
      'req/s',
      'p99.9',
      '800',
      '612ms',
      'timeouts 0',
      'resets 0',
      'hit 90.0% (l1 90.0%)',
      'db 1.25ms',
      'µs CPU per request',
    ]) {
      expect(text).toContain(expected)
    }
    expect(text).toContain('BUDGET VIOLATED: rps 800.0 violates rps>1000; p99 612.0ms violates p99<500ms')
  })

  it('warns when the client saturated a core', () => {
    expect(formatResult(makeResult({ saturated: true }))).toContain('WARNING   the load generator used 97%')
  })
})

describe('comparison', () => {
  const a = [5000, 5200, 4800, 5100, 4900].map((rps) => makeResult({ target: 'a', rps, p99: 40 }))
  const b = [10000, 15600, 9600, 10200, 9800].map((rps) => makeResult({ target: 'b', rps, p99: 20 }))

  it('pairs rounds and reports the median ratio with its spread', () => {
    const comparison = comparisonFromRuns([
      { name: 'a', results: a },
      { name: 'b', results: b },
    ])
    expect(comparison.rounds).toBe(5)
    expect(comparison.targets.map((t) => t.rps.median)).toEqual([5000, 10000])
    const ratio = comparison.ratios[0]!
    expect([ratio.a, ratio.b]).toEqual(['a', 'b'])
    // per-round ratios: 2, 3, 2, 2, 2
    expect(ratio.rps.median).toBe(2)
    expect(ratio.rps.max).toBe(3)
    expect(ratio.rps.spread).toBeCloseTo(0.5)
    expect(ratio.p99.median).toBe(0.5)
    const text = formatComparison(comparison)
    expect(text).toContain('b / a')
    expect(text).toContain('2.00x')
    expect(text).toContain('2.00–3.00')
  })

  it('reads saved single runs and comparisons, naming clashing targets by file', () => {
    const saved = comparisonFromRuns([
      { name: 'a', results: a },
      { name: 'b', results: b },
    ])
    const groups = groupsFromSaved([
      { label: 'monday', data: JSON.parse(JSON.stringify(saved)) },
      { label: 'tuesday', data: JSON.parse(JSON.stringify(makeResult({ target: 'a', rps: 6000 }))) },
    ])
    expect(groups.map((g) => [g.name, g.results.length])).toEqual([
      ['monday:a', 5],
      ['b', 5],
      ['tuesday:a', 1],
    ])
    const comparison = comparisonFromRuns(groups)
    expect(comparison.ratios.find((r) => r.b === 'tuesday:a')?.rps.median).toBeCloseTo(6000 / 5000)
    expect(() => groupsFromSaved([{ label: 'x', data: { hello: 1 } }])).toThrow(/hotpath bench --json/)
  })
})

describe('JSON and HTML reports', () => {
  it('a result survives a JSON round trip unchanged', () => {
    const result = makeResult()
    expect(JSON.parse(JSON.stringify(result))).toEqual(result)
  })

  it('HTML of a run is self-contained and carries the chart, the numbers and the verdict', () => {
    const result = makeResult({ rps: 4321, p99: 612 })
    const html = renderHtmlReport(result, {
      budget: evaluateBudget(result, parseBudget()),
      command: 'hotpath bench http://x/items/{id} --ids 1..10 <script>',
    })
    expect(html.startsWith('<!doctype html>')).toBe(true)
    expect(html).toContain('<svg class="chart latency-chart"')
    expect(html.match(/<polyline /g)).toHaveLength(1)
    expect(html).toContain('4,321')
    expect(html).toContain('612ms')
    expect(html).toContain('BUDGET VIOLATED')
    // Escaped, and nothing is fetched from elsewhere.
    expect(html).toContain('&#60;script&#62;')
    expect(html).not.toMatch(/<script|<link|src=|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)[^"<]*"/)
    expect(html.match(/<svg/g)?.length).toBe(html.match(/<\/svg>/g)?.length)
  })

  it('HTML of a comparison has one bar and one latency line per target, and the ratios', () => {
    const comparison = comparisonFromRuns([
      { name: 'bare', results: [makeResult({ rps: 1000 })] },
      { name: 'cached', results: [makeResult({ rps: 3000 })] },
      { name: 'peer', results: [makeResult({ rps: 2000 })] },
    ])
    const html = renderHtmlReport(comparison, { title: 'suite', facts: { cpus: '2' } })
    expect(html.match(/<polyline /g)).toHaveLength(3)
    expect(html.match(/<rect x="180"/g)).toHaveLength(3)
    expect(html).toContain('cached / bare')
    expect(html).toContain('3.00x')
    expect(html).toContain('<b>cpus</b>: 2')
  })
})
