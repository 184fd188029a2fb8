/**
 * Time-series charts (inline SVG) for the reliability reports, drawn like the bench reports'
 * charts (`src/bench/report/html-report.ts`), and the HTML page around them.
 */
import { escapeHtml, renderHtmlReport } from '../../../src/bench/report/html-report.js'

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2']

export interface TimeSeries {
  readonly name: string
  /** x in seconds; y in the chart's unit; null leaves a gap. */
  readonly points: readonly { readonly x: number; readonly y: number | null }[]
}

export interface TimeChartOptions {
  readonly title: string
  readonly yLabel: string
  /** Logarithmic y axis (latencies). @default false */
  readonly logY?: boolean
  /** Shaded intervals (faults), x in seconds. @default [] */
  readonly bands?: readonly { readonly from: number; readonly to: number; readonly label: string }[]
  /** Format of y tick labels. @default String */
  readonly formatY?: (y: number) => string
}

/** A line chart over time with optional shaded bands. */
export function timeChartSvg(series: readonly TimeSeries[], options: TimeChartOptions): string {
  const width = 760
  const height = 280
  const left = 70
  const right = 140
  const top = 24
  const bottom = 40
  const formatY = options.formatY ?? ((y: number) => String(y))
  const xs = series.flatMap((s) => s.points.map((point) => point.x))
  const ys = series.flatMap((s) => s.points.flatMap((point) => (point.y === null ? [] : [point.y])))
  const xMax = Math.max(1, ...xs, ...(options.bands ?? []).map((band) => band.to))
  const logY = options.logY ?? false
  const yMin = logY ? Math.floor(Math.log10(Math.max(0.01, Math.min(...ys, 1)))) : 0
  let yMax = logY ? Math.ceil(Math.log10(Math.max(...ys, 1))) : niceCeiling(Math.max(...ys, 1))
  if (yMax <= yMin) yMax = yMin + 1
  const yOf = (value: number) => {
    const v = logY ? Math.log10(Math.max(value, 10 ** yMin)) : value
    return top + (1 - (v - yMin) / (yMax - yMin)) * (height - top - bottom)
  }
  const xOf = (value: number) => left + (value / xMax) * (width - left - right)
  const parts: string[] = [
    `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(options.title)}" xmlns="http://www.w3.org/2000/svg">`,
    `<text x="${left}" y="14" font-size="12" font-weight="bold">${escapeHtml(options.title)}</text>`,
  ]
  for (const band of options.bands ?? []) {
    const x1 = xOf(band.from)
    const x2 = xOf(band.to)
    parts.push(
      `<rect x="${x1.toFixed(1)}" y="${top}" width="${Math.max(1, x2 - x1).toFixed(1)}" height="${height - top - bottom}" fill="#fee2e2"><title>${escapeHtml(band.label)}</title></rect>`,
      `<text x="${((x1 + x2) / 2).toFixed(1)}" y="${top + 12}" text-anchor="middle" font-size="10" fill="#991b1b">${escapeHtml(band.label)}</text>`,
    )
  }
  const ticks = logY
    ? Array.from({ length: yMax - yMin + 1 }, (_, i) => 10 ** (yMin + i))
    : Array.from({ length: 5 }, (_, i) => (yMax * i) / 4)
  for (const tick of ticks) {
    const y = yOf(tick).toFixed(1)
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`,
      `<text x="${left - 6}" y="${(Number(y) + 4).toFixed(1)}" text-anchor="end" font-size="11">${escapeHtml(formatY(tick))}</text>`,
    )
  }
  const xStep = niceCeiling(xMax / 8)
  for (let x = 0; x <= xMax; x += xStep) {
    parts.push(
      `<text x="${xOf(x).toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle" font-size="11">${x}s</text>`,
    )
  }
  parts.push(
    `<text x="14" y="${(top + height - bottom) / 2}" font-size="11" transform="rotate(-90 14 ${(top + height - bottom) / 2})" text-anchor="middle">${escapeHtml(options.yLabel)}</text>`,
  )
  series.forEach((s, index) => {
    const color = PALETTE[index % PALETTE.length]
    let segment: string[] = []
    const flush = () => {
      if (segment.length > 0) {
        parts.push(
          `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${segment.join(' ')}"/>`,
        )
      }
      segment = []
    }
    for (const point of s.points) {
      if (point.y === null) flush()
      else segment.push(`${xOf(point.x).toFixed(1)},${yOf(point.y).toFixed(1)}`)
    }
    flush()
    parts.push(
      `<rect x="${width - right + 12}" y="${top + index * 18}" width="10" height="10" fill="${color}"/>`,
      `<text x="${width - right + 26}" y="${top + index * 18 + 9}" font-size="11">${escapeHtml(s.name)}</text>`,
    )
  })
  parts.push('</svg>')
  return parts.join('')
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeiling(value: number): number {
  if (!(value > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power
  return 10 * power
}

/** A page in the bench reports' style with `sections` (HTML) below the title and facts. */
export function reliabilityPage(
  title: string,
  command: string,
  facts: Record<string, string>,
  sections: readonly string[],
): string {
  return renderHtmlReport(null, { title, command, facts }).replace(
    '</body>',
    `${sections.join('\n')}\n</body>`,
  )
}

export { escapeHtml }
