/** One sample of the Prometheus text exposition format. */
export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/u
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gu

/**
 * A strict parser of the Prometheus text format (0.0.4): every line must be a comment, a HELP/TYPE
 * line or a well-formed sample, every sample must belong to a declared TYPE. Throws on anything else.
 */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = []
  const types = new Map<string, string>()
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '') continue
    if (line.startsWith('# HELP ')) continue
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ')
      if (
        name === undefined ||
        !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type ?? '')
      ) {
        throw new Error(`line ${index + 1}: bad TYPE line: ${line}`)
      }
      types.set(name, type!)
      continue
    }
    if (line.startsWith('#')) continue
    const match = SAMPLE.exec(line)
    if (match === null) throw new Error(`line ${index + 1}: not a sample: ${line}`)
    const name = match[1]!
    const labels: Record<string, string> = {}
    const rawLabels = match[2] ?? ''
    let consumed = 0
    for (const label of rawLabels.matchAll(LABEL)) {
      labels[label[1]!] = label[2]!.replace(/\\(.)/gu, (_m, c: string) => (c === 'n' ? '\n' : c))
      consumed += label[0].length
    }
    if (consumed !== rawLabels.length) throw new Error(`line ${index + 1}: bad labels: ${line}`)
    const value = Number(match[3] === '+Inf' ? Infinity : match[3] === '-Inf' ? -Infinity : match[3])
    if (Number.isNaN(value) && match[3] !== 'NaN') throw new Error(`line ${index + 1}: bad value: ${line}`)
    const family = name.replace(/_(bucket|sum|count|total|created)$/u, '')
    if (!types.has(name) && !types.has(family))
      throw new Error(`line ${index + 1}: sample without TYPE: ${name}`)
    samples.push({ name, labels, value })
  }
  return samples
}

/** Sum of the samples named `name` whose labels include `labels`. */
export function sampleValue(
  samples: readonly PromSample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  let total = 0
  for (const sample of samples) {
    if (sample.name !== name) continue
    if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) total += sample.value
  }
  return total
}
