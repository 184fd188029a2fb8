/**
 * The reference service's data cache: one Hotpath cache (memory L1 always, Redis L2 + coherence
 * when `REDIS_URL` is set) and the keys, versions and invalidations of each cached read.
 *
 * Write paths (the routes, a write strategy) call `itemWritten` / `itemDeleted` / `userChanged`
 * after the database accepted the change; reads go through `item`, `itemList`, `search` and
 * `userPosts`, which are cache-aside (`getOrSetEntry`) over a loader the caller gives.
 */
import { createCache } from '../../../src/cache/create-cache.js'
import { keyTemplate } from '../../../src/cache/keys.js'
import { memoryStore } from '../../../src/cache/stores/memory/memory-store.js'
import { redisStore } from '../../../src/cache/stores/redis/index.js'
import type { Cache, CacheSource } from '../../../src/cache/types.js'
import { parseDuration, type Duration } from '../../../src/util/duration.js'
import type { Item, ItemSort } from '../items/schemas.js'
import type { PostPage } from '../posts/repository.js'

/** Fresh lifetime of cached reads. */
export const DEFAULT_SERVICE_CACHE_TTL = 60_000
/** How long an expired read may still be served (marked `stale`) while it is refreshed. */
export const DEFAULT_SERVICE_CACHE_GRACE = 10_000
/** Global key prefix of the service's cache. */
export const DEFAULT_SERVICE_CACHE_PREFIX = 'hp'
/** L1 byte budget. */
export const DEFAULT_SERVICE_CACHE_L1_MAX_BYTES = 64 * 1024 * 1024

/** Namespace names, one per cached read. */
export const ITEMS_NAMESPACE = 'items'
export const ITEM_LISTS_NAMESPACE = 'item-lists'
export const SEARCH_NAMESPACE = 'search'
export const POSTS_NAMESPACE = 'posts'

/** Tags of stored HTTP responses that any item write invalidates (lists and search results). */
export const ITEM_LISTS_TAG = 'items:lists'
export const ITEM_SEARCH_TAG = 'items:search'

const itemKey = keyTemplate<'id'>('{id}')
const listKey = keyTemplate<'page' | 'size' | 'category' | 'sort'>(
  'items:list:{page}:{size}:{category}:{sort}',
)
const searchKey = keyTemplate<'q' | 'limit'>('items:{q#}:{limit}')
const postsKey = keyTemplate<'id' | 'page' | 'size'>('user:{id}:{page}:{size}')

export interface ServiceCacheOptions {
  /**
   * Redis for the shared tier and the coherence channel; without it the cache is memory only.
   * @default undefined
   */
  redisUrl?: string | undefined
  /**
   * Global key prefix (and coherence channel) in Redis; instances that must see each other's
   * writes share it.
   * @default 'hp'
   */
  prefix?: string
  /** Fresh lifetime of cached reads. @default 60000 (1 minute) */
  ttl?: Duration
  /** Stale-while-revalidate / stale-if-error window after `ttl`. @default 10000 */
  grace?: Duration
  /** L1 byte budget. @default 64 MiB */
  l1MaxBytes?: number
  /** An existing cache to use instead of building one (not closed by `close()`). @default undefined */
  cache?: Cache
  /**
   * Cache reads (cache-aside). When false, reads call their loader every time (`source` is
   * `undefined`) and only the invalidations run, for an HTTP response cache sharing this cache.
   * @default true
   */
  reads?: boolean
  /** Item writes also purge stored HTTP responses tagged {@link ITEM_LISTS_TAG} / {@link ITEM_SEARCH_TAG}. @default false */
  responseTags?: boolean
}

/** A cached read: the value, where it came from, and the entry's strong ETag. */
export interface CachedRead<T> {
  readonly value: T
  /** `undefined` when reads are not cached. */
  readonly source: CacheSource | undefined
  /** The entry's strong ETag; `''` when there is none (nothing found, or reads not cached). */
  readonly etag: string
}

export interface ItemListParams {
  page: number
  size: number
  category?: string | undefined
  sort?: ItemSort | undefined
}

/**
 * The strong ETag of an item: its version plus its modification time, so that a re-created row
 * with a reused id (SQLite) never matches the tag of the row that was deleted.
 *
 * @example
 * itemEtag({ id: 1, version: 3, updatedAt: '2026-01-01T00:00:00.000Z', ... }) // '"v3-lfn3pbk0"'
 */
export function itemEtag(item: Pick<Item, 'version' | 'updatedAt'>): string {
  const updated = Date.parse(item.updatedAt)
  return `"v${item.version}-${Number.isNaN(updated) ? '0' : updated.toString(36)}"`
}

/** The `user:{id}` tag carried by everything cached about a user (their posts pages). */
export function userTag(userId: number): string {
  return `user:${userId}`
}

/**
 * The service's cache. Build it once at startup with {@link createServiceCache}, close it on
 * shutdown.
 *
 * @example
 * const cache = createServiceCache({ redisUrl: config.redisUrl })
 * const { value: item, source } = await cache.item(1, () => items.findById(1))
 * await cache.itemWritten(updated) // after the database accepted the change
 */
/** How often a cache update that failed after a committed write is retried. */
export const AFTER_COMMIT_RETRY_INTERVAL_MS = 1_000
/** How long such an update is retried; past ttl + grace every entry it targets has expired anyway. */
export const AFTER_COMMIT_RETRY_FOR_MS = 120_000

export class ServiceCache {
  /** The root cache; the HTTP response cache lives in its own namespace of it. */
  readonly cache: Cache
  readonly items: Cache
  readonly itemLists: Cache
  readonly searches: Cache
  readonly posts: Cache
  /** Whether reads are cached. */
  readonly reads: boolean
  readonly #owned: boolean
  readonly #responseTags: boolean
  readonly #retries = new Set<NodeJS.Timeout>()
  #closed = false

  constructor(cache: Cache, owned: boolean, options: { reads?: boolean; responseTags?: boolean } = {}) {
    this.cache = cache
    this.#owned = owned
    this.reads = options.reads ?? true
    this.#responseTags = options.responseTags ?? false
    this.items = cache.namespace(ITEMS_NAMESPACE)
    this.itemLists = cache.namespace(ITEM_LISTS_NAMESPACE)
    this.searches = cache.namespace(SEARCH_NAMESPACE)
    this.posts = cache.namespace(POSTS_NAMESPACE)
  }

  /**
   * Cache-aside read of one item; `value` is `undefined` when the loader finds nothing (a not-found
   * answer is never cached, so a create is visible at once). The entry is versioned by the item's
   * `version`: a fill that read an older row can never replace a newer write.
   */
  async item(id: number, load: () => Promise<Item | undefined>): Promise<CachedRead<Item | undefined>> {
    if (!this.reads) {
      const item = await load()
      return { value: item, source: undefined, etag: item === undefined ? '' : itemEtag(item) }
    }
    const result = await this.items.getOrSetEntry<Item | undefined>(itemKey({ id }), async (ctx) => {
      const item = await load()
      if (item !== undefined) {
        ctx.setVersion(item.version)
        ctx.setEtag(itemEtag(item))
      }
      return item
    })
    const value = result.entry.value
    return { value, source: result.source, etag: value === undefined ? '' : result.entry.etag }
  }

  /**
   * The item when it is a fresh in-memory (L1) hit, synchronously, so a route can answer it without
   * a promise; `undefined` for anything else (read it with {@link item} then).
   */
  peekItem(id: number): CachedRead<Item | undefined> | undefined {
    if (!this.reads) return undefined
    const hit = this.items.peekEntry?.<Item | undefined>(itemKey({ id }))
    if (hit === undefined) return undefined
    const value = hit.entry.value
    return { value, source: hit.source, etag: value === undefined ? '' : hit.entry.etag }
  }

  /** Cache-aside read of one page of items, in the list namespace every item write bumps. */
  async itemList<T>(params: ItemListParams, load: () => Promise<T>): Promise<CachedRead<T>> {
    if (!this.reads) return uncached(await load())
    const key = listKey({
      page: params.page,
      size: params.size,
      category: params.category ?? '',
      sort: params.sort ?? 'id',
    })
    return read(await this.itemLists.getOrSetEntry<T>(key, load))
  }

  /** Cache-aside search, keyed by a hash of the already normalised query. */
  async search<T>(query: string, limit: number, load: () => Promise<T>): Promise<CachedRead<T>> {
    if (!this.reads) return uncached(await load())
    return read(await this.searches.getOrSetEntry<T>(searchKey({ q: query, limit }), load))
  }

  /** Cache-aside page of a user's posts, tagged `user:{id}`. */
  async userPosts(
    userId: number,
    page: number,
    size: number,
    load: () => Promise<PostPage>,
  ): Promise<CachedRead<PostPage>> {
    if (!this.reads) return uncached(await load())
    return read(
      await this.posts.getOrSetEntry<PostPage>(postsKey({ id: userId, page, size }), load, {
        tags: [userTag(userId)],
      }),
    )
  }

  /**
   * An item was created or changed in the database: store the new row (version-checked, so an
   * older concurrent write or fill loses) and drop every cached list and search result.
   */
  async itemWritten(item: Item): Promise<void> {
    await Promise.all([this.reads ? this.itemSet(item) : undefined, this.itemsChanged()])
  }

  /** Store one item row (version-checked) without touching lists; for write strategies that batch. */
  async itemSet(item: Item): Promise<void> {
    await this.items.set(itemKey({ id: item.id }), item, { version: item.version, etag: itemEtag(item) })
  }

  /**
   * Write-behind accepted a change of an item. Nothing is stored now: item reads ask the queue
   * first while the write is pending (see the item routes), and the flusher stores the rows and
   * invalidates lists and searches once per batch ({@link itemsFlushed}). Only stored HTTP
   * responses are purged at once: they are answered before any handler, so they cannot overlay
   * pending writes.
   */
  async itemQueued(): Promise<void> {
    if (this.#responseTags) await this.cache.invalidateTags([ITEM_LISTS_TAG, ITEM_SEARCH_TAG])
  }

  /**
   * A write-behind batch is committed: store its rows (version-checked), drop its deleted items, and
   * invalidate lists and searches once for the whole batch. Runs before the writes leave the queue,
   * so a read never falls from the pending value back to an older cached one.
   */
  async itemsFlushed(upserts: readonly Item[], deletedIds: readonly number[]): Promise<void> {
    await Promise.all([
      this.reads && upserts.length > 0
        ? this.items.setMany(
            upserts.map((item) => ({
              key: itemKey({ id: item.id }),
              value: item,
              options: { version: item.version, etag: itemEtag(item) },
            })),
          )
        : undefined,
      this.reads && deletedIds.length > 0
        ? this.items.deleteMany(deletedIds.map((id) => itemKey({ id })))
        : undefined,
      this.itemsChanged(),
    ])
  }

  /** An item was deleted: drop its entry (revoking in-flight fills) and every list and search result. */
  async itemDeleted(id: number): Promise<void> {
    await Promise.all([this.reads ? this.items.delete(itemKey({ id })) : undefined, this.itemsChanged()])
  }

  /** Lists and search results may contain any item: one O(1) namespace bump each. */
  async itemsChanged(): Promise<void> {
    await Promise.all([
      this.reads ? this.itemLists.invalidateNamespace() : undefined,
      this.reads ? this.searches.invalidateNamespace() : undefined,
      this.#responseTags ? this.cache.invalidateTags([ITEM_LISTS_TAG, ITEM_SEARCH_TAG]) : undefined,
    ])
  }

  /** A user or one of their posts changed: everything tagged `user:{id}` is invalid. */
  async userChanged(userId: number): Promise<void> {
    await this.cache.invalidateTags([userTag(userId)])
  }

  /**
   * Run a cache update that follows a committed database write. The database is the truth: a
   * cache that cannot be told (Redis down or slow) never fails the request. The cache core has
   * already applied the change to this instance's L1 before failing, other instances stop trusting
   * their L1 while Redis is unreachable, and the update is retried in the background until Redis
   * takes it, so no stale L2 entry outlives the outage (entries expire by ttl + grace anyway).
   */
  async afterCommit(update: () => Promise<void>, onError: (error: unknown) => void): Promise<void> {
    try {
      await update()
    } catch (error) {
      onError(error)
      this.#retry(update, Date.now() + AFTER_COMMIT_RETRY_FOR_MS)
    }
  }

  #retry(update: () => Promise<void>, until: number): void {
    if (this.#closed || Date.now() > until) return
    const timer = setTimeout(() => {
      this.#retries.delete(timer)
      update().catch(() => this.#retry(update, until))
    }, AFTER_COMMIT_RETRY_INTERVAL_MS)
    timer.unref()
    this.#retries.add(timer)
  }

  /** Closes the cache when this object built it. */
  async close(): Promise<void> {
    this.#closed = true
    for (const timer of this.#retries) clearTimeout(timer)
    this.#retries.clear()
    if (this.#owned) await this.cache.close()
  }
}

function uncached<T>(value: T): CachedRead<T> {
  return { value, source: undefined, etag: '' }
}

function read<T>(result: { entry: { value: T; etag: string }; source: CacheSource }): CachedRead<T> {
  return { value: result.entry.value, source: result.source, etag: result.entry.etag }
}

/**
 * Build the service cache from its options: memory L1 always, Redis L2 (with cross-instance
 * coherence) when `redisUrl` is set.
 *
 * @example
 * const cache = createServiceCache({ redisUrl: process.env.REDIS_URL, ttl: '1m' })
 * try { ... } finally { await cache.close() }
 */
export function createServiceCache(options: ServiceCacheOptions = {}): ServiceCache {
  const flags = { reads: options.reads ?? true, responseTags: options.responseTags ?? false }
  if (options.cache !== undefined) return new ServiceCache(options.cache, false, flags)
  const cache = createCache({
    l1: memoryStore({ maxBytes: options.l1MaxBytes ?? DEFAULT_SERVICE_CACHE_L1_MAX_BYTES }),
    ...(options.redisUrl === undefined ? {} : { l2: redisStore({ url: options.redisUrl }) }),
    prefix: options.prefix ?? DEFAULT_SERVICE_CACHE_PREFIX,
    ttl: parseDuration(options.ttl ?? DEFAULT_SERVICE_CACHE_TTL, 'ttl'),
    grace: parseDuration(options.grace ?? DEFAULT_SERVICE_CACHE_GRACE, 'grace'),
  })
  return new ServiceCache(cache, true, flags)
}
