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
 * Text without NUL characters: PostgreSQL cannot store them (it would fail the query with a 500),
 * so they are rejected at the edge on both dialects.
 */
export const AnyText = (maxLength: number) => Type.String({ maxLength, pattern: '^[^\\u0000]*$' })

/** Non-blank text: at least one non-space character, and no NUL. */
export const Text = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: '^(?=[\\s\\S]*\\S)[^\\u0000]*$' })

/** Fields of every paged answer. */
export const PageInfo = {
  page: Type.Integer(),
  size: Type.Integer(),
  hasMore: Type.Boolean(),
}
