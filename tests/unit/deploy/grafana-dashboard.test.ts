/**
 * deploy/grafana/hotpath-dashboard.json is an importable Grafana dashboard: one Prometheus data
 * source input, panels laid out on the 24-column grid without overlaps, and a PromQL query on every
 * panel over Hotpath's own series. (Whether those series exist is checked against a real scrape in
 * tests/integration/deploy/grafana-metrics.test.ts.)
 */
import { describe, expect, it } from 'vitest'

import { allPanels, allQueries, groupingLabels, loadDashboard, selectors } from './dashboard.js'

const dashboard = loadDashboard()
const panels = allPanels(dashboard)
const queries = allQueries(dashboard)

describe('Grafana dashboard (deploy/grafana/hotpath-dashboard.json)', () => {
  it('imports with one Prometheus data source input', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    expect(dashboard.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/)
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }),
    ])
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' })
      for (const target of panel.targets ?? []) expect(target.datasource?.uid).toBe('${DS_PROMETHEUS}')
    }
    for (const variable of dashboard.templating.list)
      expect(variable.datasource?.uid).toBe('${DS_PROMETHEUS}')
  })

  it('has unique panel ids and a grid layout without overlaps', () => {
    const ids = panels.map((panel) => panel.id)
    expect(new Set(ids).size).toBe(ids.length)
    const taken = new Set<string>()
    for (const { title, gridPos } of panels) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24)
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(taken.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false)
          taken.add(`${x},${y}`)
        }
      }
    }
  })

  it('queries Hotpath series on every panel, with balanced brackets', () => {
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
    }
    for (const { where, expr } of queries) {
      expect(selectors(expr).length, where).toBeGreaterThan(0)
      for (const [open, close] of ['()', '{}', '[]']) {
        expect(expr.split(open!).length, `${where}: ${open}${close}`).toBe(expr.split(close!).length)
      }
      // A percentile is computed from buckets aggregated by `le`, never from a gauge.
      if (expr.includes('histogram_quantile')) {
        expect(expr, where).toMatch(/_bucket\{/)
        expect(groupingLabels(expr), where).toContain('le')
      }
    }
  })

  it('covers what an operator of a cached API looks at', () => {
    const used = new Set(queries.flatMap(({ expr }) => selectors(expr).map((s) => s.metric)))
    expect([...used].sort()).toEqual(
      expect.arrayContaining([
        'hotpath_http_request_duration_seconds_count',
        'hotpath_http_request_duration_seconds_bucket',
        'hotpath_cache_requests_total',
        'hotpath_cache_loader_duration_seconds_bucket',
        'hotpath_write_behind_pending',
        'hotpath_write_behind_lag_seconds',
        'hotpath_write_behind_dead_letters',
        'hotpath_event_loop_delay_seconds',
        'hotpath_process_memory_bytes',
        'hotpath_db_pool_connections',
      ]),
    )
    const stale = queries.some(({ expr }) =>
      selectors(expr).some((s) => s.matchers.some((m) => m.label === 'result' && m.value === 'stale')),
    )
    expect(stale).toBe(true)
  })
})
