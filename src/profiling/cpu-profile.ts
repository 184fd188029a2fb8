import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { DEFAULT_SUMMARY_TOP } from './defaults.js'

/** A V8 CPU profile as written to a `.cpuprofile` file (Chrome DevTools, speedscope). */
export interface CpuProfile {
  nodes: CpuProfileNode[]
  startTime: number
  endTime: number
  /** Node id of each sample. */
  samples: number[]
  /** Microseconds between consecutive samples. */
  timeDeltas: number[]
}

export interface CpuProfileNode {
  id: number
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number }
  hitCount?: number
  children?: number[]
}

/** One function's row in a {@link ProfileSummary}. */
export interface FunctionTime {
  functionName: string
  /** `file:line` (1-based line), relative to the working directory when inside it. */
  location: string
  selfMs: number
  totalMs: number
  selfPercent: number
  totalPercent: number
}

export interface ProfileSummary {
  durationMs: number
  sampleCount: number
  /** Functions by time spent in their own code. */
  bySelf: FunctionTime[]
  /** Functions by time spent in them and everything they called. */
  byTotal: FunctionTime[]
}

export interface SummarizeOptions {
  /**
   * Rows per table.
   * @default 15
   */
  top?: number
  /** Base directory locations are shown relative to. @default process.cwd() */
  baseDir?: string
}

// Not functions: V8 pseudo-frames that would only crowd the top of the tables.
const HIDDEN = new Set(['(root)', '(idle)'])

/** True when `value` looks like a V8 CPU profile (nodes, samples and timeDeltas). */
export function isCpuProfile(value: unknown): value is CpuProfile {
  if (typeof value !== 'object' || value === null) return false
  const profile = value as Partial<CpuProfile>
  return (
    Array.isArray(profile.nodes) &&
    Array.isArray(profile.samples) &&
    Array.isArray(profile.timeDeltas) &&
    profile.samples.length === profile.timeDeltas.length
  )
}

/**
 * Top functions of a CPU profile by self and by total time, with `file:line`.
 * Total time counts a function once per sample even when it recurses.
 *
 * @example
 * const summary = summarizeProfile(JSON.parse(await readFile('x.cpuprofile', 'utf8')))
 * console.log(formatProfileSummary(summary))
 */
export function summarizeProfile(profile: CpuProfile, options: SummarizeOptions = {}): ProfileSummary {
  const top = options.top ?? DEFAULT_SUMMARY_TOP
  const baseDir = options.baseDir ?? process.cwd()
  const byId = new Map<number, CpuProfileNode>()
  for (const node of profile.nodes) byId.set(node.id, node)

  // DevTools attributes the interval up to the next sample to a sample; the last one gets the mean.
  const nodeSelfUs = new Map<number, number>()
  const count = profile.samples.length
  let sum = 0
  for (let i = 1; i < count; i++) sum += profile.timeDeltas[i] ?? 0
  const mean = count > 1 ? sum / (count - 1) : 0
  let totalUs = 0
  for (let i = 0; i < count; i++) {
    const id = profile.samples[i] as number
    const delta = Math.max(0, i + 1 < count ? (profile.timeDeltas[i + 1] ?? 0) : mean)
    nodeSelfUs.set(id, (nodeSelfUs.get(id) ?? 0) + delta)
    totalUs += delta
  }

  const keyOf = new Map<number, string>()
  const rows = new Map<string, { functionName: string; location: string; selfUs: number; totalUs: number }>()
  for (const node of profile.nodes) {
    const frame = node.callFrame
    const location = frame.url === '' ? '' : `${displayPath(frame.url, baseDir)}:${frame.lineNumber + 1}`
    const functionName = frame.functionName === '' ? '(anonymous)' : frame.functionName
    const key = `${functionName}\u0000${location}:${frame.columnNumber}`
    keyOf.set(node.id, key)
    if (!rows.has(key)) rows.set(key, { functionName, location, selfUs: 0, totalUs: 0 })
    const row = rows.get(key)!
    row.selfUs += nodeSelfUs.get(node.id) ?? 0
  }

  // Subtree time per node, computed bottom-up without recursion (profiles can be deep).
  const parentOf = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
  const root = profile.nodes.find((node) => !parentOf.has(node.id))
  const order: number[] = []
  if (root !== undefined) {
    const stack = [root.id]
    while (stack.length > 0) {
      const id = stack.pop() as number
      order.push(id)
      for (const child of byId.get(id)?.children ?? []) stack.push(child)
    }
  }
  const subtreeUs = new Map<number, number>()
  for (let i = order.length - 1; i >= 0; i--) {
    const id = order[i] as number
    let total = nodeSelfUs.get(id) ?? 0
    for (const child of byId.get(id)?.children ?? []) total += subtreeUs.get(child) ?? 0
    subtreeUs.set(id, total)
  }
  // A node adds its subtree to its function's total only if no ancestor is the same function.
  const onStack = new Map<string, number>()
  if (root !== undefined) {
    const stack: Array<{ id: number; leaving: boolean }> = [{ id: root.id, leaving: false }]
    while (stack.length > 0) {
      const { id, leaving } = stack.pop()!
      const key = keyOf.get(id) as string
      if (leaving) {
        const depth = (onStack.get(key) ?? 1) - 1
        if (depth === 0) onStack.delete(key)
        else onStack.set(key, depth)
        continue
      }
      if (!onStack.has(key)) rows.get(key)!.totalUs += subtreeUs.get(id) ?? 0
      onStack.set(key, (onStack.get(key) ?? 0) + 1)
      stack.push({ id, leaving: true })
      for (const child of byId.get(id)?.children ?? []) stack.push({ id: child, leaving: false })
    }
  }

  const all: FunctionTime[] = []
  for (const row of rows.values()) {
    if (HIDDEN.has(row.functionName) && row.location === '') continue
    all.push({
      functionName: row.functionName,
      location: row.location,
      selfMs: row.selfUs / 1000,
      totalMs: row.totalUs / 1000,
      selfPercent: totalUs === 0 ? 0 : (row.selfUs / totalUs) * 100,
      totalPercent: totalUs === 0 ? 0 : (row.totalUs / totalUs) * 100,
    })
  }
  const bySelf = all.filter((row) => row.selfMs > 0).sort((a, b) => b.selfMs - a.selfMs)
  const byTotal = all.filter((row) => row.totalMs > 0).sort((a, b) => b.totalMs - a.totalMs)
  return {
    durationMs: totalUs / 1000,
    sampleCount: count,
    bySelf: bySelf.slice(0, top),
    byTotal: byTotal.slice(0, top),
  }
}

/**
 * Render a {@link ProfileSummary} as two plain-text tables (self time, then total time).
 *
 * @example
 * console.log(formatProfileSummary(summarizeProfile(profile)))
 */
export function formatProfileSummary(summary: ProfileSummary): string {
  const lines = [
    `CPU profile: ${summary.durationMs.toFixed(1)} ms, ${summary.sampleCount} samples`,
    '',
    'Top functions by self time',
    ...table(summary.bySelf),
    '',
    'Top functions by total time',
    ...table(summary.byTotal),
  ]
  return lines.join('\n')
}

function table(rows: readonly FunctionTime[]): string[] {
  const header = ['self ms', 'self %', 'total ms', 'total %', 'function', 'location']
  const body = rows.map((row) => [
    row.selfMs.toFixed(1),
    row.selfPercent.toFixed(1),
    row.totalMs.toFixed(1),
    row.totalPercent.toFixed(1),
    row.functionName,
    row.location,
  ])
  if (body.length === 0) return ['  (no samples)']
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => cells[column]!.length)),
  )
  const render = (cells: string[]) =>
    '  ' +
    cells
      .map((cell, column) => (column < 4 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd()
  return [render(header), ...body.map(render)]
}

function displayPath(url: string, baseDir: string): string {
  let file = url
  if (url.startsWith('file://')) {
    try {
      file = fileURLToPath(url)
    } catch {
      return url
    }
  }
  if (!path.isAbsolute(file)) return file
  const relative = path.relative(baseDir, file)
  return relative.startsWith('..') ? file : relative
}
