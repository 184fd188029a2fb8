import { Type } from '@sinclair/typebox'

export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 100
/** Offset paging past this point is a scan; clients that need more should filter. */
export const MAX_PAGE = 100_000
/** Ids are 32-bit integers on both dialects: larger ids are rejected, not sent to the database. */
export const MAX_ID = 2_147_483_647

export const Id = Type.Integer({ minimum: 1, maximum: MAX_ID })

export const IdParams = Type.Object({ id: Id }, { additionalProperties: false })

export const Page = Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 })
export const PageSize = Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })

/** A query string that accepts no parameters at all. */
export const NoQuery = Type.Object({}, { additionalProperties: false })

/**
 * One character of valid text: not NUL, and not half of a UTF-16 surrogate pair unless its other
 * half follows. PostgreSQL cannot store NUL (the query would fail with a 500), and a lone surrogate
 * (JSON can carry `"\ud800"`) is not text at all: the drivers would store replacement bytes the
 * client never sent. Both are rejected at the edge on both dialects. Works with and without the
 * RegExp `u` flag.
 */
const TEXT_CHAR = '(?:[^\\u0000\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])'

/** Text without NUL characters or lone surrogates (see `TEXT_CHAR`). */
export const AnyText = (maxLength: number) => Type.String({ maxLength, pattern: `^${TEXT_CHAR}*$` })

/** Non-blank text: at least one non-space character, and no NUL or lone surrogate. */
export const Text = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: `^(?=[\\s\\S]*\\S)${TEXT_CHAR}*$` })

/** Fields of every paged answer. */
export const PageInfo = {
  page: Type.Integer(),
  size: Type.Integer(),
  hasMore: Type.Boolean(),
}
