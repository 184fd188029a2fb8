import { createHash } from 'node:crypto'

/** What identifies one version of an export's data. */
export interface ExportVersion {
  /** Rows the export will contain. */
  count: number | bigint | string
  /** The newest `updated_at` among them (`null` when there are none). */
  maxUpdatedAt: Date | string | number | null | undefined
  /**
   * Everything else that changes the bytes: format, columns, filters, options.
   * @default ''
   */
  variant?: string
}

/**
 * A weak ETag for an export, derived from its data version (row count + newest `updated_at`) and
 * its variant, so unchanged exports can be revalidated with `If-None-Match` without reading the
 * rows. Weak, because the same data may be sent gzip-, brotli- or un-compressed.
 *
 * @example
 * const { count, max } = await db.selectFrom('items').select((eb) => [eb.fn.countAll().as('count'), eb.fn.max('updated_at').as('max')]).executeTakeFirstOrThrow()
 * reply.header('etag', exportEtag({ count, maxUpdatedAt: max, variant: 'csv:id,name' }))
 */
export function exportEtag(version: ExportVersion): string {
  const updated =
    version.maxUpdatedAt instanceof Date
      ? version.maxUpdatedAt.toISOString()
      : String(version.maxUpdatedAt ?? '')
  const digest = createHash('sha256')
    .update(`${String(version.count)}\u0000${updated}\u0000${version.variant ?? ''}`)
    .digest('base64url')
    .slice(0, 27)
  return `W/"${digest}"`
}

/**
 * Whether an `If-None-Match` header matches an ETag, with the weak comparison RFC 9110 §13.1.2
 * prescribes (so `W/"x"` matches `"x"`), including `*` and comma-separated lists.
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  const wanted = opaque(etag)
  for (const candidate of header.split(',')) {
    const tag = candidate.trim()
    if (tag === '*' || (tag !== '' && opaque(tag) === wanted)) return true
  }
  return false
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag
}
