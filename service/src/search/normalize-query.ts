/**
 * Normalise a search query so that equivalent inputs search (and cache) the same: Unicode NFKC,
 * lower case, inner whitespace collapsed to one space, ends trimmed.
 *
 * @example
 * normalizeQuery('  Ｒed   LAMP ') // 'red lamp'
 */
export function normalizeQuery(query: string): string {
  return query.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim()
}

/** Escape `%`, `_` and the escape character itself for a `LIKE … ESCAPE '\'` pattern. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`)
}
