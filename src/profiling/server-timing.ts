/** One `Server-Timing` metric. */
export interface TimingEntry {
  name: string
  durationMs?: number | undefined
  description?: string | undefined
}

const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/u

/**
 * Render timing entries as a `Server-Timing` header value (W3C Server Timing).
 * Names that are not HTTP tokens are dropped; descriptions are quoted and escaped.
 *
 * @example
 * formatServerTiming([{ name: 'cache', durationMs: 0.4, description: 'hit-l1' }, { name: 'total', durationMs: 2.1 }])
 * // 'cache;desc="hit-l1";dur=0.4, total;dur=2.1'
 */
export function formatServerTiming(entries: readonly TimingEntry[]): string {
  const parts: string[] = []
  for (const entry of entries) {
    if (!TOKEN_PATTERN.test(entry.name)) continue
    let part = entry.name
    if (entry.description !== undefined) part += `;desc=${quote(entry.description)}`
    if (entry.durationMs !== undefined && Number.isFinite(entry.durationMs)) {
      part += `;dur=${round(entry.durationMs)}`
    }
    parts.push(part)
  }
  return parts.join(', ')
}

/** Parse a `Server-Timing` header value back into entries (used by tests and `hotpath bench`). */
export function parseServerTiming(header: string): TimingEntry[] {
  const entries: TimingEntry[] = []
  for (const metric of splitOutsideQuotes(header, ',')) {
    const [name, ...params] = splitOutsideQuotes(metric, ';')
    if (name === undefined || name === '') continue
    const entry: TimingEntry = { name }
    for (const param of params) {
      const eq = param.indexOf('=')
      if (eq < 0) continue
      const key = param.slice(0, eq).trim().toLowerCase()
      const raw = param.slice(eq + 1).trim()
      const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/gu, '$1') : raw
      if (key === 'dur') entry.durationMs = Number(value)
      else if (key === 'desc') entry.description = value
    }
    entries.push(entry)
  }
  return entries
}

const PLAIN_DESCRIPTION = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/u

function quote(text: string): string {
  if (PLAIN_DESCRIPTION.test(text)) return `"${text}"`
  // Node rejects header values with control or non-Latin-1 characters; keep printable ASCII only.
  let clean = ''
  for (const char of text) clean += char < ' ' || char > '~' ? '?' : char
  return `"${clean.replace(/["\\]/gu, '\\$&')}"`
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string
    if (quoted && char === '\\') {
      current += char + (text[i + 1] ?? '')
      i++
      continue
    }
    if (char === '"') quoted = !quoted
    if (char === separator && !quoted) {
      parts.push(current.trim())
      current = ''
    } else {
      current += char
    }
  }
  if (current.trim() !== '') parts.push(current.trim())
  return parts
}
