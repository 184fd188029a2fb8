/**
 * Freshness of an upstream response (RFC 9111 §4.2) and the validators of a revalidation
 * (RFC 9110 §13.1): plain functions, no I/O.
 */

/** The response directives of `Cache-Control` that decide whether and how long a response is kept. */
export interface ResponseCacheDirectives {
  readonly noStore: boolean
  /** `no-cache`: may be stored, but must be revalidated before every use. */
  readonly noCache: boolean
  /** Seconds; `undefined` when absent or malformed. */
  readonly maxAge: number | undefined
  /** Seconds; `undefined` when absent or malformed. */
  readonly sMaxAge: number | undefined
}

/** The response headers freshness is computed from (lower-case names, as Node and undici give them). */
export interface FreshnessHeaders {
  readonly 'cache-control'?: string | undefined
  readonly expires?: string | undefined
  readonly date?: string | undefined
  readonly age?: string | undefined
}

/** Whether a response may be stored, and for how long it is fresh. */
export interface Freshness {
  readonly store: boolean
  /** Milliseconds from now (already reduced by `Age`); 0 means "revalidate before the next use". */
  readonly lifetimeMs: number
}

const DELTA_SECONDS = /^\d{1,10}$/

function deltaSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const unquoted = value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
  return DELTA_SECONDS.test(unquoted) ? Number(unquoted) : undefined
}

/**
 * Parse the response directives of a `Cache-Control` header. Directive names are case-insensitive;
 * a malformed `max-age` counts as absent (RFC 9111 §4.2.1 lets a cache treat it as stale, and the
 * configured ttl is the safer reading for an API client).
 *
 * @example
 * parseResponseCacheControl('public, max-age=60') // { noStore: false, noCache: false, maxAge: 60, sMaxAge: undefined }
 */
export function parseResponseCacheControl(header: string | undefined): ResponseCacheDirectives {
  let noStore = false
  let noCache = false
  let maxAge: number | undefined
  let sMaxAge: number | undefined
  if (header !== undefined) {
    for (const part of header.split(',')) {
      const eq = part.indexOf('=')
      const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase()
      const value = eq < 0 ? undefined : part.slice(eq + 1).trim()
      if (name === 'no-store') noStore = true
      // `no-cache="field"` only forbids reusing those fields without revalidation; treat it as plain no-cache.
      else if (name === 'no-cache') noCache = true
      else if (name === 'max-age') maxAge = deltaSeconds(value)
      else if (name === 's-maxage') sMaxAge = deltaSeconds(value)
    }
  }
  return { noStore, noCache, maxAge, sMaxAge }
}

/**
 * How long a response is fresh: `s-maxage`, else `max-age` (minus `Age`), else `Expires - Date`,
 * else `fallbackMs` (the configured ttl); capped at `maxMs`. `no-store` means "do not store",
 * `no-cache` a lifetime of 0 (stored for its validators, revalidated on every use).
 *
 * `s-maxage` is honoured because the client's cache is shared by every user of the service.
 *
 * @example
 * responseFreshness({ 'cache-control': 'max-age=60', age: '10' }, 30_000, 86_400_000, Date.now())
 * // { store: true, lifetimeMs: 50_000 }
 */
export function responseFreshness(
  headers: FreshnessHeaders,
  fallbackMs: number,
  maxMs: number,
  now: number,
): Freshness {
  const directives = parseResponseCacheControl(headers['cache-control'])
  if (directives.noStore) return { store: false, lifetimeMs: 0 }
  if (directives.noCache) return { store: true, lifetimeMs: 0 }
  const age = (deltaSeconds(headers.age) ?? 0) * 1000
  const seconds = directives.sMaxAge ?? directives.maxAge
  let lifetime: number
  if (seconds !== undefined) {
    lifetime = seconds * 1000 - age
  } else if (headers.expires !== undefined) {
    const expires = Date.parse(headers.expires)
    const date = headers.date === undefined ? Number.NaN : Date.parse(headers.date)
    // An invalid Expires (often "0" or "-1") means "already expired" (RFC 9111 §5.3).
    lifetime = Number.isNaN(expires) ? 0 : expires - (Number.isNaN(date) ? now : date) - age
  } else {
    lifetime = fallbackMs
  }
  return { store: true, lifetimeMs: Math.min(maxMs, Math.max(0, lifetime)) }
}

/** The validators kept from a stored response. */
export interface StoredValidators {
  readonly etag?: string | undefined
  readonly lastModified?: string | undefined
}

/**
 * Request headers that turn a GET into a revalidation of a stored response: `If-None-Match` with
 * its ETag, and `If-Modified-Since` with its `Last-Modified` (a server that supports both uses the
 * ETag, RFC 9110 §13.2.2). Empty when the stored response has no validator.
 *
 * @example
 * conditionalHeaders({ etag: '"v3"' }) // { 'if-none-match': '"v3"' }
 */
export function conditionalHeaders(stored: StoredValidators): Record<string, string> {
  const headers: Record<string, string> = {}
  if (stored.etag !== undefined && stored.etag !== '') headers['if-none-match'] = stored.etag
  if (stored.lastModified !== undefined && stored.lastModified !== '') {
    headers['if-modified-since'] = stored.lastModified
  }
  return headers
}
