/**
 * A small in-memory `Cache` for the HTTP tests, faithful to the contract in `src/cache/types.ts`
 * (fresh / stale-within-grace / gone, lazy tag invalidation, namespaces, a size bound) and with
 * fault injection (`fail`). The real `createCache` is exercised by the integration suite.
 */
import { createHash } from 'node:crypto'
import type {
  Cache,
  CacheEntry,
  CacheEventName,
  CacheListener,
  CacheStats,
  EntryResult,
  GetOrSetOptions,
  Loader,
  SetOptions,
} from '../../../../src/cache/types.js'
import { parseDuration } from '../../../../src/util/duration.js'

interface Shared {
  entries: Map<string, CacheEntry>
  tagTimes: Map<string, number>
  maxItems: number
  fail: boolean
  sets: number
}

export interface TestCache extends Cache {
  /** Make every operation reject (a cache outage). */
  fail: boolean
  /** Entries currently held (all namespaces). */
  readonly size: number
  readonly keys: string[]
}

export function createTestCache(options: { maxItems?: number; ttl?: number } = {}): TestCache {
  const shared: Shared = {
    entries: new Map(),
    tagTimes: new Map(),
    maxItems: options.maxItems ?? 10_000,
    fail: false,
    sets: 0,
  }
  return view(shared, '', options.ttl ?? 60_000)
}

let clock = 0
function tick(): number {
  const now = Date.now()
  clock = now > clock ? now : clock + 0.001
  return clock
}

function view(shared: Shared, prefix: string, defaultTtl: number): TestCache {
  const check = () => {
    if (shared.fail) throw new Error('injected cache failure')
  }
  const full = (key: string) => prefix + key
  const read = (key: string): EntryResult<unknown> | undefined => {
    const entry = shared.entries.get(full(key))
    if (!entry) return undefined
    const now = Date.now()
    if (now >= entry.staleUntil) {
      shared.entries.delete(full(key))
      return undefined
    }
    const invalidatedAt = Math.max(0, ...entry.tags.map((t) => shared.tagTimes.get(t) ?? 0))
    const stale = now >= entry.freshUntil || invalidatedAt >= entry.createdAt
    if (stale && invalidatedAt >= entry.createdAt && entry.staleUntil === entry.freshUntil) return undefined
    // LRU: re-insert on read.
    shared.entries.delete(full(key))
    shared.entries.set(full(key), entry)
    return { entry, source: stale ? 'stale' : 'hit-l1' }
  }
  const cache: TestCache = {
    name: prefix.replace(/:$/, ''),
    get fail() {
      return shared.fail
    },
    set fail(v: boolean) {
      shared.fail = v
    },
    get size() {
      return shared.entries.size
    },
    get keys() {
      return [...shared.entries.keys()]
    },
    async get<T>(key: string) {
      check()
      return read(key)?.entry.value as T | undefined
    },
    async getEntry<T>(key: string) {
      check()
      return read(key) as EntryResult<T> | undefined
    },
    async getMany<T>(keys: readonly string[]) {
      return Promise.all(keys.map((k) => cache.get<T>(k)))
    },
    async set<T>(key: string, value: T, opts: SetOptions = {}) {
      check()
      const now = tick()
      const ttl = opts.ttl === undefined ? defaultTtl : parseDuration(opts.ttl)
      const grace = opts.grace === undefined ? 0 : parseDuration(opts.grace)
      const entry: CacheEntry<T> = {
        value,
        version: opts.version ?? now,
        createdAt: now,
        freshUntil: now + ttl,
        staleUntil: now + ttl + grace,
        tags: [...(opts.tags ?? [])],
        etag: opts.etag ?? `"${createHash('sha1').update(JSON.stringify(value)).digest('base64url')}"`,
      }
      shared.entries.delete(full(key))
      shared.entries.set(full(key), entry)
      while (shared.entries.size > shared.maxItems) {
        const oldest = shared.entries.keys().next()
        if (oldest.done) break
        shared.entries.delete(oldest.value)
      }
      shared.sets++
      return entry
    },
    async setMany(items) {
      for (const item of items) await cache.set(item.key, item.value, item.options)
    },
    async delete(key: string) {
      check()
      shared.entries.delete(full(key))
    },
    async deleteMany(keys: readonly string[]) {
      for (const k of keys) await cache.delete(k)
    },
    async has(key: string) {
      return read(key) !== undefined
    },
    async getOrSet<T>(key: string, loader: Loader<T>, opts?: GetOrSetOptions) {
      return (await cache.getOrSetEntry(key, loader, opts)).entry.value
    },
    async getOrSetEntry<T>(key: string, loader: Loader<T>, opts?: GetOrSetOptions) {
      const hit = read(key) as EntryResult<T> | undefined
      if (hit && hit.source !== 'stale') return hit
      const value = await loader({
        key,
        stale: hit?.entry,
        signal: new AbortController().signal,
        setTtl: () => {},
        setGrace: () => {},
        setTags: () => {},
        setVersion: () => {},
        setEtag: () => {},
      })
      return { entry: await cache.set(key, value, opts), source: 'miss' as const }
    },
    async expire(key: string) {
      const entry = shared.entries.get(full(key))
      if (entry) shared.entries.set(full(key), { ...entry, freshUntil: Date.now() })
    },
    namespace(name: string) {
      return view(shared, `${prefix}${name}:`, defaultTtl)
    },
    async invalidateNamespace() {
      for (const k of [...shared.entries.keys()]) if (k.startsWith(prefix)) shared.entries.delete(k)
    },
    async invalidateTags(tags: readonly string[]) {
      check()
      const now = tick()
      for (const t of tags) shared.tagTimes.set(t, now)
    },
    async clear() {
      await cache.invalidateNamespace()
    },
    async close() {},
    stats(): CacheStats {
      const tier = { hits: 0, misses: 0, stale: 0, errors: 0 }
      return {
        l1: tier,
        l2: tier,
        loads: 0,
        loadErrors: 0,
        loadTimeouts: 0,
        sets: shared.sets,
        deletes: 0,
        hitRatio: 0,
        l1Size: { items: shared.entries.size, bytes: 0 },
        l1Trusted: true,
        l2Circuit: 'none',
      }
    },
    on<E extends CacheEventName>(_event: E, _listener: CacheListener<E>) {
      return cache
    },
    off<E extends CacheEventName>(_event: E, _listener: CacheListener<E>) {
      return cache
    },
  }
  return cache
}
