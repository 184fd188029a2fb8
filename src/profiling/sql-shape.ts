/**
 * The shape of a SQL statement: literals replaced by `?`, `IN (?, ?, ?)` lists collapsed and
 * whitespace normalised, so that queries differing only in their values compare equal and no
 * value (a user's e-mail, a token) ever reaches a log line.
 *
 * @example
 * sqlShape("select * from items where id = 42 and name = 'bob'")
 * // "select * from items where id = ? and name = ?"
 * sqlShape('select * from "items" where "id" in ($1, $2, $3)')
 * // 'select * from "items" where "id" in (?)'
 */
export function sqlShape(sql: string): string {
  const cached = shapeCache.get(sql)
  if (cached !== undefined) return cached
  const shape = computeShape(sql)
  if (shapeCache.size >= SHAPE_CACHE_SIZE) shapeCache.clear()
  shapeCache.set(sql, shape)
  return shape
}

// Query builders emit a small set of distinct statements, so memoising makes shaping nearly free on
// the request path; the bound stops an application that inlines literals from growing it forever.
const SHAPE_CACHE_SIZE = 1_000
const shapeCache = new Map<string, string>()

// One pass: quoted identifiers are kept, everything else that is a literal becomes `?`.
const TOKEN =
  /("(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\])|('(?:[^']|'')*')|(\$\d+|:\w+|@\w+|\?)|(\b0x[0-9a-f]+\b|(?<![\w$])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\b)/giu

function computeShape(sql: string): string {
  const replaced = sql.replace(TOKEN, (match, identifier: string | undefined) =>
    identifier === undefined ? '?' : match,
  )
  return replaced
    .replace(/\s+/gu, ' ')
    .replace(/\(\s*\?(?:\s*,\s*\?)*\s*\)/gu, '(?)')
    .replace(/\b(values)\s*\(\?\)(?:\s*,\s*\(\?\))+/giu, '$1 (?)')
    .trim()
}

/** The first keyword of a statement, lower-cased (`select`, `insert`…), for low-cardinality labels. */
export function sqlOperation(sql: string): string {
  const match = /^\s*(?:with\b[\s\S]*?\)\s*)?([a-z]+)/iu.exec(sql)
  const word = match?.[1]?.toLowerCase()
  return word !== undefined && KNOWN_OPERATIONS.has(word) ? word : 'other'
}

const KNOWN_OPERATIONS = new Set(['select', 'insert', 'update', 'delete', 'begin', 'commit', 'rollback'])
