/**
 * Typed `Cache-Control` response policies (RFC 9111 §5.2.2).
 */
import { InvalidOptionError } from '../errors.js'
import { parseDuration } from '../util/duration.js'
import type { Duration } from '../util/duration.js'

/**
 * A route's caching policy.
 *
 * @example
 * const policy: CacheControlPolicy = { scope: 'public', maxAge: '1h', staleWhileRevalidate: '1m' }
 * formatCacheControl(resolveCacheControlPolicy(policy)) // 'public, max-age=3600, stale-while-revalidate=60'
 */
export interface CacheControlPolicy {
  /** Who may store the response: any cache (`public`) or only the user's browser (`private`). @default undefined (no directive) */
  scope?: 'public' | 'private'
  /** Stored copies must be revalidated before every use. @default false */
  noCache?: boolean
  /** Nothing may store the response. @default false */
  noStore?: boolean
  /** Freshness lifetime for every cache. @default undefined */
  maxAge?: Duration
  /** Freshness lifetime for shared caches (CDNs, proxies). @default undefined */
  sMaxAge?: Duration
  /** How long a stale copy may be served while it is revalidated in the background. @default undefined */
  staleWhileRevalidate?: Duration
  /** How long a stale copy may be served when the origin fails. @default undefined */
  staleIfError?: Duration
  /** The response never changes while fresh: browsers skip revalidation on reload. @default false */
  immutable?: boolean
  /** A stale copy must not be used without revalidation. @default false */
  mustRevalidate?: boolean
}

/** A policy with durations resolved to milliseconds. */
export interface ResolvedCacheControlPolicy {
  readonly scope: 'public' | 'private' | undefined
  readonly noCache: boolean
  readonly noStore: boolean
  readonly maxAge: number | undefined
  readonly sMaxAge: number | undefined
  readonly staleWhileRevalidate: number | undefined
  readonly staleIfError: number | undefined
  readonly immutable: boolean
  readonly mustRevalidate: boolean
}

const POLICY_KEYS = new Set([
  'scope',
  'noCache',
  'noStore',
  'maxAge',
  'sMaxAge',
  'staleWhileRevalidate',
  'staleIfError',
  'immutable',
  'mustRevalidate',
])

/**
 * Validate a policy and resolve its durations once.
 *
 * @param option the option path used in error messages
 * @throws InvalidOptionError on an unknown key, a bad scope or a bad duration
 */
export function resolveCacheControlPolicy(
  policy: CacheControlPolicy,
  option = 'policy',
): ResolvedCacheControlPolicy {
  if (policy === null || typeof policy !== 'object') {
    throw new InvalidOptionError(option, policy, 'an object such as { scope: "public", maxAge: "1h" }')
  }
  for (const key of Object.keys(policy)) {
    if (!POLICY_KEYS.has(key)) {
      throw new InvalidOptionError(
        `${option}.${key}`,
        (policy as Record<string, unknown>)[key],
        `one of ${[...POLICY_KEYS].join(', ')}`,
      )
    }
  }
  if (policy.scope !== undefined && policy.scope !== 'public' && policy.scope !== 'private') {
    throw new InvalidOptionError(`${option}.scope`, policy.scope, '"public" or "private"')
  }
  const duration = (name: keyof CacheControlPolicy): number | undefined => {
    const value = policy[name]
    return value === undefined ? undefined : parseDuration(value as Duration, `${option}.${name}`)
  }
  const flag = (name: keyof CacheControlPolicy): boolean => {
    const value = policy[name]
    if (value === undefined) return false
    if (typeof value !== 'boolean') throw new InvalidOptionError(`${option}.${name}`, value, 'a boolean')
    return value
  }
  return Object.freeze({
    scope: policy.scope,
    noCache: flag('noCache'),
    noStore: flag('noStore'),
    maxAge: duration('maxAge'),
    sMaxAge: duration('sMaxAge'),
    staleWhileRevalidate: duration('staleWhileRevalidate'),
    staleIfError: duration('staleIfError'),
    immutable: flag('immutable'),
    mustRevalidate: flag('mustRevalidate'),
  })
}

/** Options for {@link formatCacheControl}. */
export interface FormatCacheControlOptions {
  /**
   * Milliseconds since the stored response was generated: `max-age` and `s-maxage` are reduced by
   * it, so a client never keeps a cached entry fresh longer than the server does. @default 0
   */
  ageMs?: number
  /** Force the `private` scope (a request with credentials on an `auto` route). @default false */
  forcePrivate?: boolean
}

/**
 * Render a resolved policy as a `Cache-Control` header value.
 *
 * @example
 * formatCacheControl(resolveCacheControlPolicy({ scope: 'public', maxAge: '1h' }), { ageMs: 600_000 })
 * // 'public, max-age=3000'
 */
export function formatCacheControl(
  policy: ResolvedCacheControlPolicy,
  options: FormatCacheControlOptions = {},
): string {
  const age = options.ageMs ?? 0
  const parts: string[] = []
  if (policy.noStore) return 'no-store'
  const scope = options.forcePrivate ? 'private' : policy.scope
  if (scope) parts.push(scope)
  if (policy.noCache) parts.push('no-cache')
  if (policy.maxAge !== undefined) parts.push(`max-age=${remaining(policy.maxAge, age)}`)
  if (policy.sMaxAge !== undefined && scope !== 'private')
    parts.push(`s-maxage=${remaining(policy.sMaxAge, age)}`)
  if (policy.staleWhileRevalidate !== undefined) {
    parts.push(`stale-while-revalidate=${Math.floor(policy.staleWhileRevalidate / 1000)}`)
  }
  if (policy.staleIfError !== undefined)
    parts.push(`stale-if-error=${Math.floor(policy.staleIfError / 1000)}`)
  if (policy.mustRevalidate) parts.push('must-revalidate')
  if (policy.immutable) parts.push('immutable')
  return parts.join(', ')
}

// Whole seconds of age, as an Age header would count them (RFC 9111 §5.1).
function remaining(lifetimeMs: number, ageMs: number): number {
  return Math.max(0, Math.floor(lifetimeMs / 1000) - Math.floor(Math.max(0, ageMs) / 1000))
}

/**
 * Whether a server-side (shared) cache may store responses under this policy: not `no-store`,
 * and not `private` unless the cache keys by user.
 */
export function isStorable(policy: ResolvedCacheControlPolicy, keyedByUser: boolean): boolean {
  if (policy.noStore) return false
  if (policy.scope === 'private' && !keyedByUser) return false
  return true
}
