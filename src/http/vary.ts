/**
 * `Vary` handling: normalise header names, merge lists, read the request values a cache keys on.
 */

/**
 * Parse a `Vary` value (or several) into lower-case, de-duplicated field names. `*` is kept.
 *
 * @example
 * parseVary('Accept-Encoding, accept') // ['accept-encoding', 'accept']
 */
export function parseVary(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return []
  const text = typeof value === 'string' ? value : value.join(',')
  const out: string[] = []
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase()
    if (name && !out.includes(name)) out.push(name)
  }
  return out
}

/**
 * Merge several `Vary` lists into one header value (`*` absorbs everything), with conventional
 * capitalisation.
 *
 * @example
 * mergeVary(['accept'], 'Accept-Encoding, Accept') // 'Accept, Accept-Encoding'
 */
export function mergeVary(...lists: (string | readonly string[] | undefined)[]): string {
  const names: string[] = []
  for (const list of lists) {
    for (const name of parseVary(list)) if (!names.includes(name)) names.push(name)
  }
  if (names.includes('*')) return '*'
  return names.map(capitalize).join(', ')
}

function capitalize(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase())
}

/**
 * The part of a cache key that a list of varying request headers contributes: each name with the
 * request's value (whitespace-normalised), so `Accept-Language: en` and `fr` are different entries.
 *
 * @example
 * varyKey({ 'accept-language': 'en' }, ['accept-language']) // 'accept-language=en'
 */
export function varyKey(
  headers: Record<string, string | string[] | undefined>,
  names: readonly string[],
): string {
  if (names.length === 0) return ''
  const parts: string[] = []
  for (const name of names) {
    const raw = headers[name]
    const value = raw === undefined ? '' : Array.isArray(raw) ? raw.join(',') : raw
    parts.push(`${name}=${encodeURIComponent(value.replace(/\s+/g, ' ').trim())}`)
  }
  return parts.join('&')
}
