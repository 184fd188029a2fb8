/** Defaults of the upstream client, one named constant each. */

/** Fresh lifetime of a response whose upstream sends no `Cache-Control` max-age nor `Expires`. */
export const DEFAULT_UPSTREAM_TTL = 60_000
/** Longest fresh lifetime accepted from an upstream's `Cache-Control` / `Expires`. */
export const DEFAULT_UPSTREAM_MAX_TTL = 86_400_000
/** How long after expiry a stored response is still served when the upstream fails (stale-if-error). */
export const DEFAULT_UPSTREAM_GRACE = 300_000
/** Namespace of the cache the responses live in. */
export const DEFAULT_UPSTREAM_NAMESPACE = 'upstream'
/** Keep-alive connections per origin. */
export const DEFAULT_UPSTREAM_CONNECTIONS = 16
export const DEFAULT_UPSTREAM_CONNECT_TIMEOUT = 2_000
export const DEFAULT_UPSTREAM_HEADERS_TIMEOUT = 5_000
export const DEFAULT_UPSTREAM_BODY_TIMEOUT = 5_000
/** How long an idle keep-alive socket is kept (the upstream's `Keep-Alive: timeout` wins when shorter). */
export const DEFAULT_UPSTREAM_KEEP_ALIVE_TIMEOUT = 4_000
/** Largest response body accepted (1 MiB). */
export const DEFAULT_UPSTREAM_MAX_RESPONSE_SIZE = 1_048_576
