/**
 * Reading deploy/grafana/hotpath-dashboard.json and the PromQL in it, and the Prometheus text
 * exposition of `/metrics`: shared by the dashboard's unit test and its check against a real scrape.
 */
import fs from 'node:fs'
import path from 'node:path'

export const DASHBOARD_PATH = path.resolve(
  import.meta.dirname,
  '../../../deploy/grafana/hotpath-dashboard.json',
)

export interface Target {
  expr: string
  refId: string
  datasource?: { type?: string; uid?: string }
}

export interface Panel {
  id: number
  type: string
  title: string
  gridPos: { h: number; w: number; x: number; y: number }
  datasource?: { type?: string; uid?: string }
  targets?: Target[]
  panels?: Panel[]
}

export interface Dashboard {
  uid: string
  title: string
  schemaVersion: number
  __inputs: Array<{ name: string; type: string; pluginId: string }>
  panels: Panel[]
  templating: {
    list: Array<{ name: string; datasource?: { uid?: string }; query: string | { query: string } }>
  }
}

export function loadDashboard(): Dashboard {
  return JSON.parse(fs.readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])])
}

/** Every PromQL expression of the dashboard: panel targets and template variable queries. */
export function allQueries(dashboard: Dashboard): Array<{ where: string; expr: string }> {
  const panels = allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `panel "${panel.title}" ${target.refId}`,
      expr: target.expr,
    })),
  )
  const variables = dashboard.templating.list.map((variable) => ({
    where: `variable $${variable.name}`,
    expr: typeof variable.query === 'string' ? variable.query : variable.query.query,
  }))
  return [...panels, ...variables]
}

/** Labels Prometheus attaches to every scraped series itself (not in the exposition). */
export const TARGET_LABELS: ReadonlySet<string> = new Set(['job', 'instance'])

export interface LabelMatcher {
  label: string
  op: '=' | '!=' | '=~' | '!~'
  value: string
}

export interface Selector {
  metric: string
  matchers: LabelMatcher[]
}

const STRING = String.raw`"((?:[^"\\]|\\.)*)"`

/** The `hotpath_*` series selectors of an expression, with their label matchers. */
export function selectors(expr: string): Selector[] {
  const found: Selector[] = []
  for (const match of expr.matchAll(/\b(hotpath_[A-Za-z0-9_:]*)\s*(?:\{([^}]*)\})?/g)) {
    const matchers: LabelMatcher[] = []
    for (const m of (match[2] ?? '').matchAll(
      new RegExp(String.raw`([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*${STRING}`, 'g'),
    )) {
      matchers.push({ label: m[1]!, op: m[2] as LabelMatcher['op'], value: m[3]!.replace(/\\(.)/g, '$1') })
    }
    found.push({ metric: match[1]!, matchers })
  }
  return found
}

/** Labels named in `by (...)` / `without (...)` clauses. */
export function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((label) => label.trim())
      .filter((label) => label !== ''),
  )
}

export interface Sample {
  name: string
  labels: Record<string, string>
}

/** The samples of a Prometheus text exposition (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+\S+/.exec(line)
    if (match === null) throw new Error(`not an exposition sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const m of (match[2] ?? '').matchAll(
      new RegExp(String.raw`([A-Za-z_][A-Za-z0-9_]*)=${STRING}`, 'g'),
    )) {
      labels[m[1]!] = m[2]!
    }
    samples.push({ name: match[1]!, labels })
  }
  return samples
}

/** Whether a sample satisfies one label matcher (PromQL regexes are fully anchored). */
export function matches(sample: Sample, matcher: LabelMatcher): boolean {
  const value = sample.labels[matcher.label] ?? ''
  switch (matcher.op) {
    case '=':
      return value === matcher.value
    case '!=':
      return value !== matcher.value
    case '=~':
      return new RegExp(`^(?:${matcher.value})$`).test(value)
    case '!~':
      return !new RegExp(`^(?:${matcher.value})$`).test(value)
  }
}
