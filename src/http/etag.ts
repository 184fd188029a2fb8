/**
 * Entity tags (RFC 9110 §8.8.3): parsing, formatting and the two comparison functions.
 */

/** A parsed entity tag. `opaque` is the text between the quotes. */
export interface EntityTag {
  readonly weak: boolean
  readonly opaque: string
}

/** A parsed `If-Match` / `If-None-Match` value: `*` or a list of entity tags. */
export type EntityTagList = '*' | readonly EntityTag[]

// etagc = %x21 / %x23-7E / obs-text: any visible char except DQUOTE, plus obs-text.
const ETAGC = /^[\x21\x23-\x7e\x80-\xff]*$/

/**
 * Parse one entity tag such as `"abc"` or `W/"abc"`. Returns `undefined` for anything else.
 *
 * @example
 * parseETag('W/"v1"') // { weak: true, opaque: 'v1' }
 */
export function parseETag(value: string): EntityTag | undefined {
  const text = value.trim()
  const weak = text.startsWith('W/')
  const quoted = weak ? text.slice(2) : text
  if (quoted.length < 2 || quoted[0] !== '"' || quoted[quoted.length - 1] !== '"') return undefined
  const opaque = quoted.slice(1, -1)
  if (!ETAGC.test(opaque)) return undefined
  return { weak, opaque }
}

/**
 * Format an entity tag for a header.
 *
 * @example
 * formatETag({ weak: false, opaque: 'v1' }) // '"v1"'
 */
export function formatETag(tag: EntityTag): string {
  return tag.weak ? `W/"${tag.opaque}"` : `"${tag.opaque}"`
}

/**
 * Parse an `If-Match` / `If-None-Match` field value: `*`, or a comma-separated list of entity tags.
 * Malformed members are skipped (they can never match). Returns `undefined` for an absent header.
 *
 * @example
 * parseETagList('"a", W/"b"') // [{ weak: false, opaque: 'a' }, { weak: true, opaque: 'b' }]
 */
export function parseETagList(value: string | readonly string[] | undefined): EntityTagList | undefined {
  if (value === undefined) return undefined
  const text = typeof value === 'string' ? value : value.join(',')
  if (text.trim() === '*') return '*'
  const tags: EntityTag[] = []
  // Opaque tags may contain commas, so scan quoted strings rather than split on ','.
  let i = 0
  while (i < text.length) {
    const ch = text[i]
    if (ch === ' ' || ch === '\t' || ch === ',') {
      i++
      continue
    }
    const weak = text.startsWith('W/', i)
    const start = weak ? i + 2 : i
    if (text[start] !== '"') {
      const next = text.indexOf(',', i)
      i = next === -1 ? text.length : next + 1
      continue
    }
    const end = text.indexOf('"', start + 1)
    if (end === -1) break
    const tag = parseETag(text.slice(i, end + 1))
    if (tag) tags.push(tag)
    i = end + 1
  }
  return tags
}

/** Strong comparison (RFC 9110 §8.8.3.2): both strong and the same opaque tag. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque
}

/** Weak comparison (RFC 9110 §8.8.3.2): the same opaque tag, weakness ignored. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque
}

/** Content codings that get their own variant of an entity tag. */
export type ContentCoding = 'identity' | 'gzip' | 'br'

const CODING_SUFFIX: Record<ContentCoding, string> = { identity: '', gzip: '-gz', br: '-br' }

/**
 * The entity tag of one content-coded variant: each coding gets a distinct tag (suffix inside
 * the quotes), so a gzip body and an identity body never share a strong validator.
 *
 * @example
 * etagForCoding('"abc"', 'gzip') // '"abc-gz"'
 */
export function etagForCoding(etag: string, coding: ContentCoding): string {
  if (coding === 'identity') return etag
  const tag = parseETag(etag)
  if (!tag) return etag
  return formatETag({ weak: tag.weak, opaque: tag.opaque + CODING_SUFFIX[coding] })
}
