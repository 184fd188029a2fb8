/**
 * The contract write strategies write to: a small typed repository keyed by id whose writes are
 * idempotent and version-guarded, so a write delivered twice or out of order never loses data.
 */

/** An id a write strategy can key by: it is stringified for Redis keys and JSON-encoded in the stream. */
export type WriteId = string | number

/** A versioned delete: removes the entity only when its stored version is older than `version`. */
export interface VersionedDelete<Id extends WriteId = WriteId> {
  readonly id: Id
  readonly version: number
}

/** One database transaction's worth of writes, already coalesced (at most one write per id). */
export interface WriteBatch<T, Id extends WriteId = WriteId> {
  readonly upserts: readonly T[]
  readonly deletes: readonly VersionedDelete<Id>[]
}

/**
 * What a write strategy needs from the database.
 *
 * Rules every implementation must keep (the write-behind flusher relies on them):
 * - `upsert` applies an entity only when its `version` is greater than the stored one (and greater
 *   than the version of a delete already applied to that id), so replays and reordering are
 *   harmless.
 * - `delete` removes an entity only when the stored version is lower than the delete's version,
 *   and remembers the delete (a tombstone) so that an older upsert delivered later cannot bring
 *   the entity back.
 * - `apply` runs one batch in one transaction: all of it or nothing.
 *
 * @example
 * const repository: WriteRepository<Item, number> = {
 *   load: (id) => db.findItem(id),
 *   loadMany: (ids) => db.findItems(ids),
 *   upsert: (items) => db.apply({ upserts: items, deletes: [] }),
 *   delete: (targets) => db.apply({ upserts: [], deletes: targets }),
 *   apply: (batch) => db.apply(batch),
 * }
 */
export interface WriteRepository<T, Id extends WriteId = WriteId> {
  load(id: Id): Promise<T | undefined>
  /** Entities in the order of `ids`; `undefined` for a missing one. */
  loadMany(ids: readonly Id[]): Promise<(T | undefined)[]>
  upsert(entities: readonly T[]): Promise<void>
  delete(targets: readonly VersionedDelete<Id>[]): Promise<void>
  apply(batch: WriteBatch<T, Id>): Promise<void>
}
