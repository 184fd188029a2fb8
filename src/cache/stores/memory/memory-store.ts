import { LRUCache } from 'lru-cache'
import { InvalidOptionError } from '../../../errors.js'
import { DEFAULT_L1_MAX_BYTES, DEFAULT_L1_MAX_ENTRY_BYTES, L1_ENTRY_OVERHEAD_BYTES } from '../../defaults.js'
import { estimateSize } from '../../entry.js'
import type { CacheEntry } from '../../types.js'
import type { Store, StoreFactory } from '../store.js'

export interface MemoryStoreOptions {
  /** Byte budget of the store (calculated sizes, see `maxEntryBytes`). @default 64 MiB */
  maxBytes?: number
  /** Entries whose calculated size exceeds this are not stored. @default 1 MiB */
  maxEntryBytes?: number
  /**
   * Optional bound on the number of entries on top of the byte budget. lru-cache preallocates
   * its index for this many entries (about 36 bytes each, ~35 MB for a million), so leave it unset
   * unless you want a count bound. @default undefined (bytes only)
   */
  maxItems?: number
}

export interface ResolvedMemoryStoreOptions {
  readonly maxBytes: number
  readonly maxEntryBytes: number
  readonly maxItems: number | undefined
}

/**
 * What L1 keeps per key: the entry plus the namespace stamp and trust epoch it was written under
 * (a record whose stamp or epoch is out of date is never served fresh).
 */
export interface L1Record {
  readonly entry: CacheEntry
  readonly stamp: number
  readonly epoch: number
}

function positiveInt(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value <= 0)
    throw new InvalidOptionError(option, value, 'a positive integer')
  return value
}

export function resolveMemoryStoreOptions(options: MemoryStoreOptions = {}): ResolvedMemoryStoreOptions {
  const maxBytes = positiveInt('maxBytes', options.maxBytes, DEFAULT_L1_MAX_BYTES)
  return Object.freeze({
    maxBytes,
    maxEntryBytes: Math.min(
      maxBytes,
      positiveInt('maxEntryBytes', options.maxEntryBytes, DEFAULT_L1_MAX_ENTRY_BYTES),
    ),
    maxItems: options.maxItems === undefined ? undefined : positiveInt('maxItems', options.maxItems, 1),
  })
}

/** Calculated L1 size of an entry: fixed overhead, the key, and the value (2x its encoded size when known). */
export function entrySize(key: string, entry: CacheEntry, payloadBytes: number | undefined): number {
  const value =
    entry.value instanceof Uint8Array
      ? entry.value.byteLength
      : payloadBytes === undefined
        ? estimateSize(entry.value)
        : payloadBytes * 2
  let tags = 0
  for (const tag of entry.tags) tags += 16 + tag.length * 2
  return L1_ENTRY_OVERHEAD_BYTES + key.length * 2 + value + tags + entry.etag.length * 2
}

/**
 * The in-process store (L1): an LRU bounded by calculated bytes. Its methods are synchronous so
 * that an L1 hit costs one map lookup.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory'
  readonly options: ResolvedMemoryStoreOptions
  readonly #lru: LRUCache<string, L1Record>

  constructor(options: MemoryStoreOptions = {}) {
    this.options = resolveMemoryStoreOptions(options)
    this.#lru = new LRUCache<string, L1Record>(
      this.options.maxItems === undefined
        ? { maxSize: this.options.maxBytes }
        : { max: this.options.maxItems, maxSize: this.options.maxBytes },
    )
  }

  /** The record for a key, expired or not (the cache decides what it may serve). */
  record(key: string): L1Record | undefined {
    return this.#lru.get(key)
  }

  /**
   * Store a record unless it is older than the one held (`force` skips that check) or bigger
   * than `maxEntryBytes`. Returns whether it was stored.
   */
  put(key: string, record: L1Record, size: number, force = false): boolean {
    if (size > this.options.maxEntryBytes) {
      this.#lru.delete(key)
      return false
    }
    const current = this.#lru.peek(key)
    if (!force && current !== undefined && current.entry.version > record.entry.version) return false
    this.#lru.set(key, record, { size })
    return true
  }

  /** Calculated size of everything held, in bytes (never above `maxBytes`). */
  get calculatedSize(): number {
    return this.#lru.calculatedSize
  }

  get itemCount(): number {
    return this.#lru.size
  }

  get(key: string): CacheEntry | undefined {
    const record = this.#lru.get(key)
    if (record === undefined) return undefined
    if (record.entry.staleUntil <= Date.now()) {
      this.#lru.delete(key)
      return undefined
    }
    return record.entry
  }

  getMany(keys: readonly string[]): (CacheEntry | undefined)[] {
    return keys.map((key) => this.get(key))
  }

  set(key: string, entry: CacheEntry, payloadBytes?: number): boolean {
    return this.put(key, { entry, stamp: 0, epoch: 0 }, entrySize(key, entry, payloadBytes))
  }

  delete(key: string): void {
    this.#lru.delete(key)
  }

  deleteMany(keys: readonly string[]): void {
    for (const key of keys) this.#lru.delete(key)
  }

  clear(): void {
    this.#lru.clear()
  }

  close(): void {
    this.#lru.clear()
  }
}

/**
 * The in-process tier as a lazy factory.
 *
 * @example
 * createCache({ l1: memoryStore({ maxBytes: 32 * 1024 * 1024 }) })
 */
export function memoryStore(
  options: MemoryStoreOptions = {},
): StoreFactory<MemoryStore, ResolvedMemoryStoreOptions> {
  const resolved = resolveMemoryStoreOptions(options)
  return Object.freeze({ options: resolved, factory: () => new MemoryStore(resolved) })
}
