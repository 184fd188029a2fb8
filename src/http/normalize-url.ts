/**
 * URL normalisation for response-cache keys, and refusal of cache-deception paths.
 */

/** What a route accepts in its query string. */
export interface QueryRules {
  /** Parameters that are part of the key. @default [] */
  readonly allow: readonly string[]
  /** What to do with any other parameter: answer 400 (`reject`) or leave it out of the key (`ignore`). @default 'reject' */
  readonly unknown: 'reject' | 'ignore'
  /**
   * Parameters dropped first: never in the key, never rejected (switches that another plugin reads,
   * such as the profiler's `profile`). @default []
   */
  readonly ignore?: readonly string[]
}

/** Options for {@link normalizeUrl}. */
export interface NormalizeUrlOptions {
  /** The route serves static files, so a path ending in `.css`, `.js`… is legitimate. @default false */
  staticFiles?: boolean
}

/** A successfully normalised URL. */
export interface NormalizedUrl {
  readonly ok: true
  /** The path with percent-encoding normalised. */
  readonly path: string
  /** The kept parameters, sorted and re-encoded, without `?` (`''` when none). */
  readonly query: string
  /** `path` plus `?query` when there is one: the URL part of a cache key. */
  readonly url: string
}

/** Why a URL cannot be used for the cache. */
export interface RejectedUrl {
  readonly ok: false
  /** `unknown-query-param` is the client's error (400); the others mean "do not cache this". */
  readonly reason: 'unknown-query-param' | 'malformed' | 'cache-deception'
  readonly detail: string
}

// Path shapes used for web cache deception / key confusion: path parameters, encoded separators,
// backslashes, dot segments and doubled slashes.
const DECEPTIVE_PATH = /;|%2f|%5c|%23|%3f|%3b|%00|%2e|\\|\/\.\.?(?:\/|$)|\/\//i
const STATIC_EXTENSION =
  /\.(?:css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|avif|bmp|tiff?|woff2?|ttf|otf|eot|txt|pdf|zip|gz|tar|mp3|mp4|webm|ogg|wav|csv|xml|swf|exe|dmg|apk)$/i
const UNRESERVED = /[A-Za-z0-9\-._~]/
/**
 * A path of plain segments without query, dots or percent-encoding (`/items/12`): already in its
 * normal form and never deceptive, so it skips the checks below.
 */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~-]+)*\/?$/

/**
 * Normalise a request URL (`/path?query`) into its cache-key form: percent-encoding normalised,
 * only the allowed query parameters, sorted by name then value.
 *
 * @example
 * normalizeUrl('/items?b=2&a=1&utm=x', { allow: ['a', 'b'], unknown: 'ignore' })
 * // { ok: true, path: '/items', query: 'a=1&b=2', url: '/items?a=1&b=2' }
 */
export function normalizeUrl(
  rawUrl: string,
  rules: QueryRules,
  options: NormalizeUrlOptions = {},
): NormalizedUrl | RejectedUrl {
  if (PLAIN_PATH.test(rawUrl) && rawUrl !== '') return { ok: true, path: rawUrl, query: '', url: rawUrl }
  const hashAt = rawUrl.indexOf('#')
  if (hashAt !== -1) return { ok: false, reason: 'cache-deception', detail: 'fragment in request target' }
  const queryAt = rawUrl.indexOf('?')
  const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt)
  const rawQuery = queryAt === -1 ? '' : rawUrl.slice(queryAt + 1)

  if (!rawPath.startsWith('/')) return { ok: false, reason: 'malformed', detail: 'path must start with "/"' }
  if (DECEPTIVE_PATH.test(rawPath)) {
    return { ok: false, reason: 'cache-deception', detail: `suspicious path ${JSON.stringify(rawPath)}` }
  }
  const path = normalizePercentEncoding(rawPath)
  if (path === undefined) return { ok: false, reason: 'malformed', detail: 'bad percent-encoding in path' }
  if (!options.staticFiles && STATIC_EXTENSION.test(path)) {
    return {
      ok: false,
      reason: 'cache-deception',
      detail: `static-file extension on a dynamic route: ${path}`,
    }
  }

  const pairs: [string, string][] = []
  if (rawQuery) {
    for (const part of rawQuery.split('&')) {
      if (part === '') continue
      const eq = part.indexOf('=')
      const name = decode(eq === -1 ? part : part.slice(0, eq))
      const value = decode(eq === -1 ? '' : part.slice(eq + 1))
      if (name === undefined || value === undefined) {
        return { ok: false, reason: 'malformed', detail: 'bad percent-encoding in query' }
      }
      if (rules.ignore?.includes(name)) continue
      if (!rules.allow.includes(name)) {
        if (rules.unknown === 'reject') {
          return { ok: false, reason: 'unknown-query-param', detail: name }
        }
        continue
      }
      pairs.push([name, value])
    }
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  const query = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')
  return { ok: true, path, query, url: query ? `${path}?${query}` : path }
}

/**
 * Normalise only the path of a URL (what unsafe-method invalidation and path tags use). Returns
 * `undefined` when the path is malformed.
 */
export function normalizePath(rawUrl: string): string | undefined {
  const end = rawUrl.search(/[?#]/)
  return normalizePercentEncoding(end === -1 ? rawUrl : rawUrl.slice(0, end))
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

// RFC 3986 §6.2.2: upper-case hex digits, decode percent-encoded unreserved characters.
function normalizePercentEncoding(path: string): string | undefined {
  if (!path.includes('%')) return path
  let out = ''
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]
    if (ch !== '%') {
      out += ch
      continue
    }
    const hex = path.slice(i + 1, i + 3)
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined
    const decoded = String.fromCharCode(parseInt(hex, 16))
    out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`
    i += 2
  }
  return out
}
