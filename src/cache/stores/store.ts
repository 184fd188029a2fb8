import type { CacheEntry } from '../types.js'

export type MaybePromise<T> = T | Promise<T>

/**
 * What every store driver offers; the one shared store suite runs against each of them.
 * Keys are complete store keys (the cache computes prefixes, namespaces and generations).
 * `set` is version-checked: a write with a lower version than the stored entry (or the
 * tombstone a delete left) is refused and returns false.
 */
export interface Store {
  readonly kind: string
  get(key: string): MaybePromise<CacheEntry | undefined>
  getMany(keys: readonly string[]): MaybePromise<(CacheEntry | undefined)[]>
  set(key: string, entry: CacheEntry): MaybePromise<boolean>
  delete(key: string): MaybePromise<void>
  deleteMany(keys: readonly string[]): MaybePromise<void>
  close(): MaybePromise<void>
}

/** A lazy store factory: options now, the connection when the cache first needs it. */
export interface StoreFactory<S, O> {
  readonly options: O
  factory(): S
}
