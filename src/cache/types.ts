/**
 * The public contract of the cache layer. Other layers (the HTTP response cache, the service) code
 * against these types only; members may be added, existing ones stay stable.
 */
import type { Duration } from '../util/duration.js'

export type { Duration }

/**
 * A cached value with the metadata every layer above answers from without recomputing.
 *
 * Values may be any JSON-like data, `Buffer` or `Uint8Array` (both codecs round-trip bytes).
 */
export interface CacheEntry<T = unknown> {
  readonly value: T
  /** Orders writes: a fill never replaces a newer version. Defaults to the write clock (epoch ms). */
  readonly version: number
  /** Epoch ms. For a fill this is when the loader started, so the entry is never newer than its data. */
  readonly createdAt: number
  /** Epoch ms: until then the entry is fresh. */
  readonly freshUntil: number
  /** Epoch ms: end of the grace period (stale-while-revalidate / stale-if-error). */
  readonly staleUntil: number
  readonly tags: readonly string[]
  /** Strong, quoted (`"..."`) entity tag computed once at write time unless given. */
  readonly etag: string
}

/** Where a result came from. */
export type CacheSource = 'hit-l1' | 'hit-l2' | 'miss' | 'stale'

export interface EntryResult<T> {
  readonly entry: CacheEntry<T>
  readonly source: CacheSource
}

export interface SetOptions {
  /** Time the entry stays fresh. @default the cache's `ttl` */
  ttl?: Duration
  /** Extra time a stale entry may still be served (background refresh, stale-if-error). @default the cache's `grace` */
  grace?: Duration
  /** Tags for lazy invalidation with `invalidateTags`. @default [] */
  tags?: readonly string[]
  /**
   * Write version (e.g. the row version). When given, the write is ignored if the stored entry has a
   * higher one. Without it an explicit `set` always replaces (last writer wins) and is stamped with
   * the write clock; a loader's fill is always checked against the version of its start time.
   * @default the write clock (epoch ms)
   */
  version?: number
  /** A strong quoted etag to store instead of computing one. @default computed from the value */
  etag?: string
  /**
   * When the value's data was read (epoch ms; later than now counts as now). The entry is dated
   * from it, so a tag invalidated after the read but before this `set` already covers it: a
   * response computed from old data is never served after the write that changed the data.
   * @default the write clock (epoch ms)
   */
  createdAt?: number
}

export interface GetOrSetOptions extends SetOptions {
  /**
   * After this long the caller gets the stale value (when there is one) while the loader keeps
   * running in the background and fills the cache when it finishes. @default the cache's `softTimeout`
   */
  softTimeout?: Duration
  /** After this long the loader is abandoned and `getOrSet` rejects with a loader timeout error. @default the cache's `hardTimeout` */
  hardTimeout?: Duration
  /**
   * Negative caching: when the loader returns `undefined` ("not found"), cache that answer for this
   * long. `undefined` or 0 disables it (the default) and a not-found answer is never cached.
   * @default undefined
   */
  negativeTtl?: Duration
  /** How long to wait for another instance holding the fill lease before loading here. @default the cache's `leaseWait` */
  leaseWait?: Duration
  /** Serve a stale entry (within grace) when the loader fails. @default true */
  staleIfError?: boolean
}

/** Handed to a loader: what it is loading, the stale entry when there is one, and per-fill overrides. */
export interface LoaderContext {
  readonly key: string
  readonly stale: CacheEntry | undefined
  /** Aborted when the hard timeout fires or the cache closes. */
  readonly signal: AbortSignal
  setTtl(ttl: Duration): void
  setGrace(grace: Duration): void
  setTags(tags: readonly string[]): void
  setVersion(version: number): void
  setEtag(etag: string): void
}

export type Loader<T> = (ctx: LoaderContext) => T | Promise<T>

/** One tier's counters. */
export interface TierStats {
  readonly hits: number
  readonly misses: number
  readonly stale: number
  readonly errors: number
}

export interface CacheStats {
  readonly l1: TierStats
  readonly l2: TierStats
  /** Loader calls started (single-flight joins are not counted). */
  readonly loads: number
  readonly loadErrors: number
  readonly loadTimeouts: number
  readonly sets: number
  readonly deletes: number
  /** (l1.hits + l2.hits) / (l1.hits + l2.hits + misses that reached the last tier); 0 when idle. */
  readonly hitRatio: number
  /** Items and bytes held by L1. */
  readonly l1Size: { readonly items: number; readonly bytes: number }
  /** Whether L1 is currently trusted (false while the coherence channel is down and not resynchronised). */
  readonly l1Trusted: boolean
  /** Circuit breaker state of the L2 tier. */
  readonly l2Circuit: 'closed' | 'open' | 'half-open' | 'none'
}

export type CacheTier = 'l1' | 'l2'

/** Event payloads, also published on `node:diagnostics_channel` as `hotpath:cache:<event>`. */
export interface CacheEvents {
  hit: { key: string; tier: CacheTier }
  miss: { key: string; tier: CacheTier }
  stale: { key: string; tier: CacheTier }
  set: { key: string }
  delete: { key: string }
  /** `namespace` is the loading cache's namespace path (`''` for the root). */
  load: { key: string; namespace: string; durationMs: number; ok: boolean }
  error: { operation: string; key?: string; error: unknown }
  circuit: { state: 'closed' | 'open' | 'half-open' }
  coherence: { state: 'connected' | 'lost' | 'resynced' }
}

export type CacheEventName = keyof CacheEvents
export type CacheListener<E extends CacheEventName> = (payload: CacheEvents[E]) => void

export interface Cache {
  /** The namespace path of this cache (`''` for the root). */
  readonly name: string
  get<T>(key: string): Promise<T | undefined>
  getEntry<T>(key: string): Promise<EntryResult<T> | undefined>
  /**
   * Synchronously, the entry when L1 holds it fresh and trusted (what `getEntry` would answer as
   * `hit-l1`), or `undefined` (then call `getEntry`). Counts as an L1 hit. Optional: a cache
   * without it is always read with `getEntry`.
   */
  peekEntry?<T>(key: string): EntryResult<T> | undefined
  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]>
  set<T>(key: string, value: T, options?: SetOptions): Promise<CacheEntry<T>>
  setMany<T>(items: readonly { key: string; value: T; options?: SetOptions }[]): Promise<void>
  delete(key: string): Promise<void>
  deleteMany(keys: readonly string[]): Promise<void>
  has(key: string): Promise<boolean>
  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T>
  getOrSetEntry<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<EntryResult<T>>
  /** Mark an entry stale now; it stays servable until the end of its grace period. */
  expire(key: string): Promise<void>
  /** A child cache whose keys live in their own namespace. */
  namespace(name: string): Cache
  /** Invalidate every key of a namespace (relative to this cache; this cache itself when omitted) in O(1). */
  invalidateNamespace(name?: string): Promise<void>
  invalidateTags(tags: readonly string[]): Promise<void>
  /** Invalidate everything this cache (and its namespaces) holds. */
  clear(): Promise<void>
  close(): Promise<void>
  stats(): CacheStats
  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): this
  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): this
}
