import { Pool, errors as undiciErrors, type Dispatcher } from 'undici'
import { createCache } from '../cache/create-cache.js'
import { memoryStore } from '../cache/stores/memory/memory-store.js'
import type { Cache, CacheSource, LoaderContext } from '../cache/types.js'
import { InvalidOptionError } from '../errors.js'
import { parseDuration, type Duration } from '../util/duration.js'
import {
  DEFAULT_UPSTREAM_BODY_TIMEOUT,
  DEFAULT_UPSTREAM_CONNECT_TIMEOUT,
  DEFAULT_UPSTREAM_CONNECTIONS,
  DEFAULT_UPSTREAM_GRACE,
  DEFAULT_UPSTREAM_HEADERS_TIMEOUT,
  DEFAULT_UPSTREAM_KEEP_ALIVE_TIMEOUT,
  DEFAULT_UPSTREAM_MAX_RESPONSE_SIZE,
  DEFAULT_UPSTREAM_MAX_TTL,
  DEFAULT_UPSTREAM_NAMESPACE,
  DEFAULT_UPSTREAM_TTL,
} from './defaults.js'
import { conditionalHeaders, responseFreshness } from './freshness.js'
import {
  UpstreamResponseTooLargeError,
  UpstreamStatusError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from './upstream-errors.js'

export interface UpstreamClientOptions {
  /** Origin of the upstream, `http(s)://host[:port]`; request paths are resolved against it. Required. */
  origin: string
  /**
   * The Hotpath cache the responses live in (a namespace of it is used). Give the service's cache
   * to share responses across instances through its Redis tier; it is not closed by `close()`.
   * @default a memory-only cache owned (and closed) by the client
   */
  cache?: Cache
  /** Namespace of `cache` holding the responses. @default 'upstream' */
  namespace?: string
  /** Fresh lifetime when the upstream sends neither `Cache-Control: max-age` nor `Expires`. @default 60000 */
  ttl?: Duration
  /** Cap of the fresh lifetime an upstream may ask for. @default 86400000 (1 day) */
  maxTtl?: Duration
  /** How long after expiry a stored response is served when the upstream fails (stale-if-error). @default 300000 (5 minutes) */
  grace?: Duration
  /** Keep-alive connections to the origin (undici `Pool` size). @default 16 */
  connections?: number
  /** Deadline of establishing a connection (TCP + TLS). @default 2000 */
  connectTimeout?: Duration
  /** Deadline of the response headers once the request is sent. @default 5000 */
  headersTimeout?: Duration
  /** Longest pause between two chunks of the body (undici's `bodyTimeout`: idle, not total). @default 5000 */
  bodyTimeout?: Duration
  /** Idle keep-alive sockets are closed after this long (an upstream's shorter `Keep-Alive` hint wins). @default 4000 */
  keepAliveTimeout?: Duration
  /** Largest body accepted, in bytes; larger responses fail with `E_UPSTREAM_TOO_LARGE` and are not cached. @default 1048576 */
  maxResponseSize?: number
  /** Headers sent with every request (e.g. `authorization`, `accept`). They are not part of the cache key. @default {} */
  headers?: Readonly<Record<string, string>>
}

export interface ResolvedUpstreamClientOptions {
  readonly origin: string
  readonly namespace: string
  readonly ttl: number
  readonly maxTtl: number
  readonly grace: number
  readonly connections: number
  readonly connectTimeout: number
  readonly headersTimeout: number
  readonly bodyTimeout: number
  readonly keepAliveTimeout: number
  readonly maxResponseSize: number
  readonly headers: Readonly<Record<string, string>>
}

/**
 * Where a response came from: `hit` (stored and fresh, no upstream call), `fetched` (downloaded
 * now), `revalidated` (stored body confirmed by a 304, nothing downloaded), `stale` (the upstream
 * failed and a stored response within `grace` was served).
 */
export type UpstreamSource = 'hit' | 'fetched' | 'revalidated' | 'stale'

export interface UpstreamResponse {
  readonly body: Buffer
  readonly contentType: string | undefined
  /** The upstream's ETag, sent back as `If-None-Match` when revalidating. */
  readonly etag: string | undefined
  /** The upstream's Last-Modified, sent back as `If-Modified-Since` when revalidating. */
  readonly lastModified: string | undefined
  readonly source: UpstreamSource
  /** Epoch ms when the body was downloaded. */
  readonly fetchedAt: number
  /** Epoch ms when the upstream last confirmed it (download or 304). */
  readonly validatedAt: number
}

/** What the cache holds per URL (short names: it is encoded on every write). */
interface StoredResponse {
  readonly b: Buffer
  readonly t?: string
  readonly e?: string
  readonly m?: string
  /** Cache-Control and Expires of the last 200, used when a 304 does not repeat them. */
  readonly c?: string
  readonly x?: string
  readonly f: number
  readonly v: number
}

type Headers = Record<string, string | string[] | undefined>

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

function positiveInteger(option: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidOptionError(option, value, 'a positive integer')
  return value
}

/** Resolve and validate the options once into a frozen object. */
export function resolveUpstreamClientOptions(options: UpstreamClientOptions): ResolvedUpstreamClientOptions {
  let origin: URL | undefined
  try {
    origin = new URL(options.origin)
  } catch {
    origin = undefined
  }
  if (
    origin === undefined ||
    (origin.protocol !== 'http:' && origin.protocol !== 'https:') ||
    (origin.pathname !== '/' && origin.pathname !== '') ||
    origin.search !== ''
  ) {
    throw new InvalidOptionError('origin', options.origin, "an origin such as 'https://api.example.com:8443'")
  }
  return Object.freeze({
    origin: origin.origin,
    namespace: options.namespace ?? DEFAULT_UPSTREAM_NAMESPACE,
    ttl: parseDuration(options.ttl ?? DEFAULT_UPSTREAM_TTL, 'ttl'),
    maxTtl: parseDuration(options.maxTtl ?? DEFAULT_UPSTREAM_MAX_TTL, 'maxTtl'),
    grace: parseDuration(options.grace ?? DEFAULT_UPSTREAM_GRACE, 'grace'),
    connections: positiveInteger('connections', options.connections ?? DEFAULT_UPSTREAM_CONNECTIONS),
    connectTimeout: parseDuration(
      options.connectTimeout ?? DEFAULT_UPSTREAM_CONNECT_TIMEOUT,
      'connectTimeout',
    ),
    headersTimeout: parseDuration(
      options.headersTimeout ?? DEFAULT_UPSTREAM_HEADERS_TIMEOUT,
      'headersTimeout',
    ),
    bodyTimeout: parseDuration(options.bodyTimeout ?? DEFAULT_UPSTREAM_BODY_TIMEOUT, 'bodyTimeout'),
    keepAliveTimeout: parseDuration(
      options.keepAliveTimeout ?? DEFAULT_UPSTREAM_KEEP_ALIVE_TIMEOUT,
      'keepAliveTimeout',
    ),
    maxResponseSize: positiveInteger(
      'maxResponseSize',
      options.maxResponseSize ?? DEFAULT_UPSTREAM_MAX_RESPONSE_SIZE,
    ),
    headers: Object.freeze({ ...options.headers }),
  })
}

/**
 * A pooled keep-alive HTTP client for one upstream origin whose GET responses go through a Hotpath
 * cache with conditional revalidation:
 *
 * - a response is stored with its ETag / Last-Modified and is fresh for the upstream's
 *   `Cache-Control` `s-maxage` / `max-age` (minus `Age`), else `Expires`, else `ttl`;
 *   `no-store` is never stored, `no-cache` is revalidated on every use;
 * - a stale response is revalidated with `If-None-Match` / `If-Modified-Since`; a 304 refreshes
 *   the stored entry without downloading the body again;
 * - concurrent misses of one URL make one upstream call (the cache's single flight, and its fill
 *   lease across instances sharing Redis);
 * - when the upstream fails (unreachable, timeout, 5xx, oversized body), a stored response within
 *   `grace` after its expiry is served (`source: 'stale'`), otherwise a typed error
 *   (`E_UPSTREAM_TIMEOUT` 504, `E_UPSTREAM_UNAVAILABLE` / `E_UPSTREAM_STATUS` /
 *   `E_UPSTREAM_TOO_LARGE` 502).
 *
 * Only `200` responses are stored and returned; any other status is an `UpstreamStatusError`.
 *
 * @example
 * const rates = createUpstreamClient({ origin: 'https://rates.example.com', cache: serviceCache, ttl: '5m' })
 * const { body, source } = await rates.get('/rates/EUR')
 * await rates.close()
 */
export class UpstreamClient {
  readonly options: ResolvedUpstreamClientOptions
  readonly #pool: Pool
  readonly #cache: Cache
  readonly #root: Cache | undefined
  /** Wait for a revalidation as long as the upstream may take, then fall back to the stale response. */
  readonly #waitMs: number

  constructor(options: UpstreamClientOptions) {
    this.options = resolveUpstreamClientOptions(options)
    const o = this.options
    this.#pool = new Pool(o.origin, {
      connections: o.connections,
      connectTimeout: o.connectTimeout,
      headersTimeout: o.headersTimeout,
      bodyTimeout: o.bodyTimeout,
      keepAliveTimeout: o.keepAliveTimeout,
      maxResponseSize: o.maxResponseSize,
    })
    this.#root = options.cache === undefined ? createCache({ l1: memoryStore() }) : undefined
    this.#cache = (options.cache ?? (this.#root as Cache)).namespace(o.namespace)
    this.#waitMs = o.connectTimeout + o.headersTimeout + o.bodyTimeout + 1_000
  }

  /**
   * GET `path` (absolute, may carry a query string) from the origin, through the cache.
   *
   * @throws UpstreamTimeoutError, UpstreamUnavailableError, UpstreamStatusError,
   *   UpstreamResponseTooLargeError when the upstream fails and nothing stored may be served
   */
  async get(path: string): Promise<UpstreamResponse> {
    if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) {
      throw new InvalidOptionError('path', path, "an absolute path such as '/rates/EUR'")
    }
    const result = await this.#cache.getOrSetEntry<StoredResponse>(path, (ctx) => this.#load(path, ctx), {
      ttl: this.options.ttl,
      grace: this.options.grace,
      softTimeout: this.#waitMs,
      staleIfError: true,
    })
    return toResponse(result.entry.value, result.source)
  }

  /** Close the keep-alive connections (in-flight requests finish) and the cache when the client owns it. */
  async close(): Promise<void> {
    await this.#pool.close()
    await this.#root?.close()
  }

  async #load(path: string, ctx: LoaderContext): Promise<StoredResponse> {
    const stale = ctx.stale?.value as StoredResponse | undefined
    const url = this.options.origin + path
    const headers =
      stale === undefined
        ? this.options.headers
        : { ...this.options.headers, ...conditionalHeaders({ etag: stale.e, lastModified: stale.m }) }
    let response: Dispatcher.ResponseData
    try {
      response = await this.#pool.request({ path, method: 'GET', headers, signal: ctx.signal })
    } catch (error) {
      throw this.#translate(url, error)
    }
    const now = Date.now()
    const got = response.headers as Headers
    if (response.statusCode === 304 && stale !== undefined) {
      await response.body.dump()
      // A 304 updates the stored headers it carries (RFC 9111 §4.3.4); the body stays.
      const cacheControl = header(got, 'cache-control') ?? stale.c
      const expires = header(got, 'expires') ?? stale.x
      this.#setFreshness(
        ctx,
        { 'cache-control': cacheControl, expires, date: header(got, 'date'), age: header(got, 'age') },
        now,
      )
      return { ...stale, e: header(got, 'etag') ?? stale.e, c: cacheControl, x: expires, v: now }
    }
    if (response.statusCode !== 200) {
      await response.body.dump().catch(() => {})
      throw new UpstreamStatusError(url, response.statusCode)
    }
    let body: Buffer
    try {
      body = Buffer.from(await response.body.arrayBuffer())
    } catch (error) {
      throw this.#translate(url, error)
    }
    const cacheControl = header(got, 'cache-control')
    const expires = header(got, 'expires')
    this.#setFreshness(
      ctx,
      { 'cache-control': cacheControl, expires, date: header(got, 'date'), age: header(got, 'age') },
      now,
    )
    return compact({
      b: body,
      t: header(got, 'content-type'),
      e: header(got, 'etag'),
      m: header(got, 'last-modified'),
      c: cacheControl,
      x: expires,
      f: now,
      v: now,
    })
  }

  #setFreshness(ctx: LoaderContext, headers: Parameters<typeof responseFreshness>[0], now: number): void {
    const freshness = responseFreshness(headers, this.options.ttl, this.options.maxTtl, now)
    ctx.setTtl(freshness.lifetimeMs)
    // `no-store`: the entry expires at once and is never served, not even stale.
    ctx.setGrace(freshness.store ? this.options.grace : 0)
  }

  #translate(url: string, error: unknown): Error {
    const o = this.options
    if (error instanceof undiciErrors.ConnectTimeoutError)
      return new UpstreamTimeoutError(url, 'connect', o.connectTimeout, error)
    if (error instanceof undiciErrors.HeadersTimeoutError)
      return new UpstreamTimeoutError(url, 'headers', o.headersTimeout, error)
    if (error instanceof undiciErrors.BodyTimeoutError)
      return new UpstreamTimeoutError(url, 'body', o.bodyTimeout, error)
    if (error instanceof undiciErrors.ResponseExceededMaxSizeError) {
      return new UpstreamResponseTooLargeError(url, o.maxResponseSize, error)
    }
    // The cache aborted the load (hard timeout, close): keep its reason.
    if (error instanceof Error && error.name === 'AbortError') return error
    return new UpstreamUnavailableError(url, error)
  }
}

/** Drop absent fields so they are not encoded. */
function compact(stored: {
  -readonly [K in keyof StoredResponse]: StoredResponse[K] | undefined
}): StoredResponse {
  for (const key of Object.keys(stored) as (keyof StoredResponse)[]) {
    if (stored[key] === undefined) delete stored[key]
  }
  return stored as StoredResponse
}

function toResponse(stored: StoredResponse, source: CacheSource): UpstreamResponse {
  return {
    body: stored.b,
    contentType: stored.t,
    etag: stored.e,
    lastModified: stored.m,
    source:
      source === 'hit-l1' || source === 'hit-l2'
        ? 'hit'
        : source === 'stale'
          ? 'stale'
          : stored.v > stored.f
            ? 'revalidated'
            : 'fetched',
    fetchedAt: stored.f,
    validatedAt: stored.v,
  }
}

/**
 * Create an {@link UpstreamClient}.
 *
 * @example
 * const client = createUpstreamClient({ origin: process.env.UPSTREAM_URL!, headersTimeout: '2s' })
 * const rates = JSON.parse((await client.get('/rates/EUR')).body.toString('utf8'))
 */
export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  return new UpstreamClient(options)
}
