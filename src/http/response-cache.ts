/**
 * The server-side response cache, framework-free: keys, lookups, writes (with pre-compressed
 * variants), invalidation and counters. The Fastify plugin and the fast lane both drive it.
 */
import { createHash } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'
import type { Cache, CacheEntry, CacheSource, EntryResult } from '../cache/types.js'
import { InvalidOptionError } from '../errors.js'
import type { Duration } from '../util/duration.js'
import { parseDuration } from '../util/duration.js'
import type { ResolvedCacheControlPolicy } from './cache-control.js'
import {
  compressesOnDemand,
  compressVariants,
  DEFAULT_COMPRESSION_THRESHOLD,
  isCompressible,
} from './compression.js'
import type { CompressionOptions } from './compression.js'
import type { QueryRules } from './normalize-url.js'
import { hashETag } from './stored-response.js'
import type { StoredResponse } from './stored-response.js'

/** Request headers that can change what a handler renders but are not part of the key. */
export const DEFAULT_UNKEYED_HEADERS: readonly string[] = Object.freeze([
  'x-forwarded-host',
  'x-forwarded-scheme',
  'x-forwarded-server',
  'x-host',
  'x-original-url',
  'x-rewrite-url',
  'x-original-host',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'forwarded',
])
export const DEFAULT_NAMESPACE = 'http'
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024
export const DEFAULT_MAX_FAST_LANE_PATHS = 10_000
const MAX_READABLE_KEY = 200

/** Options of {@link ResponseCache}. */
export interface ResponseCacheOptions {
  /** Namespace of the cache the responses live in. @default 'http' */
  namespace?: string
  /**
   * Serve gzip and brotli variants of compressible bodies, each computed once per entry (and
   * process): on demand for bodies under 64 KiB, when stored for larger ones. @default true
   */
  compression?: boolean | CompressionOptions
  /** Bodies larger than this are not stored. @default 1 MiB */
  maxBodyBytes?: number
  /**
   * A miss carrying one of these request headers is answered but not stored, so a header the key
   * ignores can never poison a stored response. @default DEFAULT_UNKEYED_HEADERS
   */
  unkeyedHeaders?: readonly string[]
  /** How many distinct paths the fast lane remembers route rules for. @default 10_000 */
  maxFastLanePaths?: number
}

export interface ResolvedResponseCacheOptions {
  readonly namespace: string
  readonly compression: false | Readonly<CompressionOptions>
  readonly maxBodyBytes: number
  readonly unkeyedHeaders: readonly string[]
  readonly maxFastLanePaths: number
}

/** What makes two requests share a stored response. */
export interface CacheKeyParts {
  /** `GET` (HEAD shares GET's entries). */
  readonly method: string
  /** Normalised URL (path plus sorted, declared query). */
  readonly url: string
  /** {@link varyKey} of the declared Vary headers. */
  readonly vary: string
  /** Negotiated response format (`json`, `msgpack`). */
  readonly format: string
  /** The user, for private entries. */
  readonly user?: string | undefined
}

/** How a route builds its keys: what the fast lane needs to look up a path without routing. */
export interface RouteKeyInfo {
  readonly query: QueryRules
  readonly vary: readonly string[]
  readonly negotiate: boolean
  readonly staticFiles: boolean
}

/** A response to store. */
export interface StoreInput {
  readonly status: number
  readonly headers: readonly (readonly [string, string])[]
  readonly body: Buffer
  readonly contentType: string | undefined
  /** The handler's strong ETag, if it set one; a body hash otherwise. */
  readonly etag: string | undefined
  readonly lastModified: number | undefined
  readonly policy: ResolvedCacheControlPolicy
  readonly private: boolean
  readonly public: boolean
  readonly vary: string
  readonly tags: readonly string[]
  /** Path the entry belongs to: an unsafe request to it invalidates the entry. */
  readonly path: string
  readonly ttl: number
  readonly grace: number
  /**
   * When the request started (epoch ms), before the handler read its data. The entry is dated from
   * it, so an invalidation of its path or tags that happened while the handler ran (here or on
   * another instance sharing the cache) already covers it and it is never served. @default now
   */
  readonly readAt?: number | undefined
}

/** A write {@link ResponseCache.write} started. */
export interface StoreWrite {
  /** The stored form of the response, at hand before the write settles. */
  readonly stored: StoredResponse
  /** The entry's base (identity) strong ETag. */
  readonly etag: string
  /** When the entry is dated from (epoch ms). */
  readonly createdAt: number
  /**
   * Whether to answer from the written entry rather than from `stored`: the cache has a shared
   * tier (the next request may reach another instance, which should find the entry), or the body
   * is compressed on the libuv pool first (then the answer can be compressed too).
   */
  readonly awaitWrite: boolean
  /** The written entry, or undefined when the cache failed (counted and reported, never thrown). */
  readonly written: Promise<CacheEntry<StoredResponse> | undefined>
}

/** A usable lookup result. */
export interface LookupResult {
  readonly stored: StoredResponse
  readonly entry: CacheEntry<StoredResponse>
  readonly source: CacheSource
  /** False for an entry past `freshUntil` but within its grace period. */
  readonly fresh: boolean
}

/** Counters, for metrics and Server-Timing. */
export interface ResponseCacheStats {
  hits: number
  staleHits: number
  fastLaneHits: number
  misses: number
  notModified: number
  stores: number
  bypasses: number
  invalidations: number
  errors: number
}

/** Published on `node:diagnostics_channel` for every fast-lane hit: `{ key, status }`. */
export const FAST_LANE_HIT_CHANNEL = 'hotpath:http:fast-lane-hit'
const fastLaneChannel = diagnostics.channel(FAST_LANE_HIT_CHANNEL)

/**
 * The response cache.
 *
 * @example
 * const responses = new ResponseCache(cache, { compression: true })
 * const key = responses.keyFor({ method: 'GET', url: '/items/1', vary: '', format: 'json' })
 * const hit = await responses.lookup(key)
 */
/** Counters of a response cache that has served nothing yet. */
export function emptyResponseCacheStats(): ResponseCacheStats {
  return {
    hits: 0,
    staleHits: 0,
    fastLaneHits: 0,
    misses: 0,
    notModified: 0,
    stores: 0,
    bypasses: 0,
    invalidations: 0,
    errors: 0,
  }
}

export class ResponseCache {
  readonly cache: Cache
  readonly options: ResolvedResponseCacheOptions
  readonly counters: ResponseCacheStats = emptyResponseCacheStats()
  readonly #fastLanePaths = new Map<string, RouteKeyInfo>()
  /** Whether the cache has a shared tier (Redis): then writes are awaited before answering. */
  readonly #sharedTier: boolean
  #onError: (error: unknown, operation: string) => void = () => {}

  constructor(cache: Cache, options: ResponseCacheOptions = {}) {
    this.options = resolveResponseCacheOptions(options)
    this.cache = cache.namespace(this.options.namespace)
    this.#sharedTier = cache.stats().l2Circuit !== 'none'
  }

  /** Where cache errors go (they never fail a request). */
  onError(listener: (error: unknown, operation: string) => void): void {
    this.#onError = listener
  }

  /** The cache key of a request. */
  keyFor(parts: CacheKeyParts): string {
    const user = parts.user === undefined ? '' : `u=${encodeURIComponent(parts.user)}`
    const key = `${parts.method} ${parts.url} ${parts.vary} ${parts.format} ${user}`
    return key.length <= MAX_READABLE_KEY ? key : `#${createHash('sha256').update(key).digest('base64url')}`
  }

  /** The tag every entry of `path` carries, so that an unsafe request to the path purges them all. */
  pathTag(path: string): string {
    const tag = `path:${path}`
    return tag.length <= MAX_READABLE_KEY
      ? tag
      : `path#${createHash('sha256').update(path).digest('base64url')}`
  }

  /**
   * The first unkeyed header this request carries (so a miss for it must not be stored), or
   * `undefined` when it carries none.
   */
  unkeyedHeaderOf(headers: Record<string, unknown>): string | undefined {
    for (const name of this.options.unkeyedHeaders) if (headers[name] !== undefined) return name
    return undefined
  }

  /** Whether a miss for this request may not be stored (it carries an unkeyed header). */
  hasUnkeyedHeader(headers: Record<string, unknown>): boolean {
    return this.unkeyedHeaderOf(headers) !== undefined
  }

  /**
   * Look a key up. An entry invalidated by a tag or path (stale before its `freshUntil`) is a miss:
   * after a write, the old response is never served.
   */
  lookup(key: string, now = Date.now()): Promise<LookupResult | undefined> {
    // Plain promise chaining (no async frame): this is the hot path of every hit.
    let pending: Promise<EntryResult<StoredResponse> | undefined>
    try {
      pending = this.cache.getEntry<StoredResponse>(key)
    } catch (error) {
      return Promise.resolve(this.#lookupFailed(error))
    }
    return pending.then(
      (result) => {
        if (!result) return undefined
        const { entry, source } = result
        const fresh = source !== 'stale' && now < entry.freshUntil
        if (!fresh && entry.freshUntil > now) return undefined
        const stored = asStored(entry.value)
        return stored && { stored, entry, source, fresh }
      },
      (error: unknown) => this.#lookupFailed(error),
    )
  }

  /**
   * Synchronously, a fresh hit held by the cache's L1 (no promise, no microtask), or `undefined`:
   * then {@link lookup} decides (it may still hit L2, a stale entry, or miss).
   */
  peek(key: string, now = Date.now()): LookupResult | undefined {
    const cache = this.cache
    if (cache.peekEntry === undefined) return undefined
    let result: EntryResult<StoredResponse> | undefined
    try {
      result = cache.peekEntry<StoredResponse>(key)
    } catch (error) {
      return this.#lookupFailed(error)
    }
    if (result === undefined || now >= result.entry.freshUntil) return undefined
    const stored = asStored(result.entry.value)
    return stored && { stored, entry: result.entry, source: result.source, fresh: true }
  }

  #lookupFailed(error: unknown): undefined {
    this.counters.errors++
    this.#onError(error, 'lookup')
    return undefined
  }

  /** Build the stored form of a response and write it; resolves once written. */
  async store(key: string, input: StoreInput): Promise<CacheEntry<StoredResponse> | undefined> {
    return this.write(key, input)?.written
  }

  /**
   * Build the stored form of a response and start writing it; `undefined` when the body is too
   * large to store. Bodies that compress on the event loop are compressed lazily, when a request
   * first accepts a coding (see `StoredResponse.compress`); larger ones once, on the libuv pool,
   * before the write.
   */
  write(key: string, input: StoreInput): StoreWrite | undefined {
    const body = input.body
    if (body.length > this.options.maxBodyBytes) {
      this.counters.bypasses++
      return undefined
    }
    const compression = this.options.compression
    const compress =
      compression !== false &&
      body.length >= (compression.threshold ?? DEFAULT_COMPRESSION_THRESHOLD) &&
      isCompressible(input.contentType)
    const onDemand = compress && compressesOnDemand(body, compression)
    const stored: StoredResponse = {
      status: input.status,
      headers: input.headers,
      body,
      gzip: undefined,
      br: undefined,
      compress: onDemand ? compression : undefined,
      policy: input.policy,
      private: input.private,
      public: input.public,
      vary: input.vary,
      surrogateKey: input.tags.join(' '),
      lastModified: input.lastModified,
    }
    const etag = input.etag ?? hashETag(body)
    const createdAt = input.readAt ?? Date.now()
    if (compress && !onDemand) {
      const written = compressVariants(body, compression).then(
        ({ gzip, br }) => this.#write(key, { ...stored, gzip, br }, etag, input),
        (error: unknown) => this.#storeFailed(error),
      )
      return { stored, etag, createdAt, awaitWrite: true, written }
    }
    return {
      stored,
      etag,
      createdAt,
      awaitWrite: this.#sharedTier,
      written: this.#write(key, stored, etag, input),
    }
  }

  async #write(
    key: string,
    stored: StoredResponse,
    etag: string,
    input: StoreInput,
  ): Promise<CacheEntry<StoredResponse> | undefined> {
    try {
      const entry = await this.cache.set(key, stored, {
        ttl: input.ttl,
        grace: input.grace,
        tags: [...input.tags, this.pathTag(input.path)],
        etag,
        createdAt: input.readAt,
      })
      this.counters.stores++
      return entry
    } catch (error) {
      return this.#storeFailed(error)
    }
  }

  #storeFailed(error: unknown): undefined {
    this.counters.errors++
    this.#onError(error, 'store')
    return undefined
  }

  /** Purge every stored response of these paths (RFC 9111 §4.4 invalidation). */
  async invalidatePaths(paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return
    this.counters.invalidations++
    await this.invalidateTags(paths.map((p) => this.pathTag(p)))
  }

  /** Purge every stored response carrying one of these tags, in every tier. */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    try {
      await this.cache.invalidateTags(tags)
    } catch (error) {
      this.counters.errors++
      this.#onError(error, 'invalidate')
    }
  }

  /** Remember how a path's route builds keys, so the fast lane can look it up before routing. */
  rememberRoute(path: string, info: RouteKeyInfo): void {
    const map = this.#fastLanePaths
    if (map.get(path) === info) return
    map.delete(path)
    if (map.size >= this.options.maxFastLanePaths) {
      const oldest = map.keys().next()
      if (!oldest.done) map.delete(oldest.value)
    }
    map.set(path, info)
  }

  /** The key rules the fast lane should use for `path`, if a public entry was stored for it. */
  routeFor(path: string): RouteKeyInfo | undefined {
    return this.#fastLanePaths.get(path)
  }

  /** Count a fast-lane hit (and publish it for metrics). */
  recordFastLaneHit(key: string, status: number): void {
    this.counters.fastLaneHits++
    if (fastLaneChannel.hasSubscribers) fastLaneChannel.publish({ key, status })
  }

  /** A snapshot of the counters. */
  stats(): Readonly<ResponseCacheStats> {
    return { ...this.counters }
  }
}

// A codec may hand bytes back as Uint8Array; the answer path wants Buffers.
function asStored(value: unknown): StoredResponse | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const v = value as StoredResponse
  if (!(v.body instanceof Uint8Array) || !Array.isArray(v.headers)) return undefined
  if (
    Buffer.isBuffer(v.body) &&
    (v.gzip === undefined || Buffer.isBuffer(v.gzip)) &&
    (v.br === undefined || Buffer.isBuffer(v.br))
  ) {
    return v
  }
  const buf = (b: Uint8Array | undefined | null) =>
    b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : undefined
  return { ...v, body: buf(v.body)!, gzip: buf(v.gzip), br: buf(v.br) }
}

/** Validate and freeze {@link ResponseCacheOptions}. */
export function resolveResponseCacheOptions(options: ResponseCacheOptions): ResolvedResponseCacheOptions {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE
  if (typeof namespace !== 'string' || namespace === '') {
    throw new InvalidOptionError('namespace', namespace, 'a non-empty string')
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 0) {
    throw new InvalidOptionError('maxBodyBytes', maxBodyBytes, 'a non-negative integer')
  }
  const maxFastLanePaths = options.maxFastLanePaths ?? DEFAULT_MAX_FAST_LANE_PATHS
  if (!Number.isInteger(maxFastLanePaths) || maxFastLanePaths < 1) {
    throw new InvalidOptionError('maxFastLanePaths', maxFastLanePaths, 'a positive integer')
  }
  const unkeyed = options.unkeyedHeaders ?? DEFAULT_UNKEYED_HEADERS
  if (!Array.isArray(unkeyed) || unkeyed.some((h) => typeof h !== 'string')) {
    throw new InvalidOptionError('unkeyedHeaders', unkeyed, 'an array of header names')
  }
  const compression = options.compression ?? true
  if (typeof compression !== 'boolean' && (compression === null || typeof compression !== 'object')) {
    throw new InvalidOptionError(
      'compression',
      compression,
      'a boolean or { threshold, brotliQuality, minSaving }',
    )
  }
  return Object.freeze({
    namespace,
    compression:
      compression === false ? false : Object.freeze(compression === true ? {} : { ...compression }),
    maxBodyBytes,
    unkeyedHeaders: Object.freeze(unkeyed.map((h) => h.toLowerCase())),
    maxFastLanePaths,
  })
}

/** Resolve a duration option, or `fallback` when absent. */
export function durationOr(value: Duration | undefined, fallback: number, option: string): number {
  return value === undefined ? fallback : parseDuration(value, option)
}
