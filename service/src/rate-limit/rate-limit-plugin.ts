/**
 * Rate limiting of the service with @fastify/rate-limit: a fixed-window budget per client address
 * and, on top of it, per bearer token, counted in Redis when the service has one (shared by every
 * instance) and in memory otherwise.
 */
import { createHash } from 'node:crypto'
import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'
import { ADMIN_TOKEN_HEADER } from '../../../src/fastify/profiling/admin-token.js'
import type { ServiceApp } from '../context.js'
import type { RateLimitBudget } from './rate-limit-config.js'
import { RateLimitedError } from './rate-limited-error.js'
import { redisRateLimitStore } from './redis-rate-limit-store.js'

/** Routes never limited: probes and scrapes must keep working while a client is being throttled. */
export const RATE_LIMIT_EXEMPT_ROUTES: readonly string[] = ['/health', '/metrics']
/** Key segment of the counters under the cache prefix (`<CACHE_PREFIX>:rl:ip:<address>`). */
export const RATE_LIMIT_KEY_SEGMENT = 'rl'

export interface RateLimitPluginOptions {
  /** The budget every client address (and every bearer token) gets. */
  budget: RateLimitBudget
  /**
   * Count in Redis (shared by instances) instead of memory.
   * @default undefined (memory)
   */
  redisUrl?: string | undefined
  /**
   * Redis key prefix; counters are `<prefix>:rl:…`.
   * @default 'hp'
   */
  prefix?: string
  /**
   * Route URLs (as declared) that are never limited.
   * @default RATE_LIMIT_EXEMPT_ROUTES
   */
  exempt?: readonly string[]
}

const BEARER = /^Bearer +(\S+) *$/i

/** A bearer or admin token's digest (never the token itself in a Redis key), or `undefined`. */
function tokenKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization
  const admin = request.headers[ADMIN_TOKEN_HEADER]
  const token =
    (typeof authorization === 'string' ? BEARER.exec(authorization)?.[1] : undefined) ??
    (typeof admin === 'string' && admin !== '' ? admin : undefined)
  if (token === undefined) return undefined
  return `tok:${createHash('sha256').update(token).digest('hex').slice(0, 32)}`
}

/**
 * Register rate limiting on the service. Call it before the routes and the HTTP cache, so that
 * its `onRequest` hook runs first: a throttled client is refused before a stored response is
 * looked up. (Fast-lane hits are answered before Fastify runs any hook, so they are not counted.)
 *
 * Every request counts against its client address (`request.ip`; IPv6 grouped by /64). A request
 * with a bearer token (or `X-Hotpath-Admin-Token`) also counts against that token, so a token
 * spread over many addresses is limited too; inventing tokens gains nothing, since the address
 * budget still applies. Over budget: 429 `E_RATE_LIMITED` with `Retry-After` and the
 * `X-RateLimit-*` headers. Allowed responses carry no rate-limit header, so a stored response
 * never replays one client's counters to another. When Redis fails, requests are let through.
 *
 * @example
 * await registerRateLimit(app, { budget: { max: 600, window: 60_000 }, redisUrl: config.redisUrl })
 */
export async function registerRateLimit(app: ServiceApp, options: RateLimitPluginOptions): Promise<void> {
  const { max, window } = options.budget
  const backend =
    options.redisUrl === undefined
      ? undefined
      : redisRateLimitStore({
          url: options.redisUrl,
          prefix: `${options.prefix ?? 'hp'}:${RATE_LIMIT_KEY_SEGMENT}:`,
          onError: (error) => app.log.warn({ err: error }, 'rate limit: Redis connection error'),
        })
  if (backend) app.addHook('onClose', async () => backend.close())

  await app.register(rateLimit, {
    global: false,
    max,
    timeWindow: window,
    skipOnError: true,
    ...(backend ? { store: backend.Store } : {}),
  })
  const byAddress = app.createRateLimit({ keyGenerator: (request) => `ip:${normalizeIP(request.ip)}` })
  const byToken = app.createRateLimit({ keyGenerator: (request) => tokenKey(request) ?? '' })
  const exempt = new Set(options.exempt ?? RATE_LIMIT_EXEMPT_ROUTES)

  app.addHook('onRequest', async (request, reply) => {
    if (exempt.has(request.routeOptions.url ?? '')) return
    let result = await byAddress(request)
    if (result.isAllowed) return
    if (!result.isExceeded && tokenKey(request) !== undefined) {
      result = await byToken(request)
      if (result.isAllowed) return
    }
    if (!result.isExceeded) return
    // A counter that Redis lost its expiry for (ttl 0) still gets a non-zero wait.
    const retryAfter = Math.max(1, result.ttlInSeconds)
    reply
      .header('retry-after', String(retryAfter))
      .header('x-ratelimit-limit', String(result.max))
      .header('x-ratelimit-remaining', '0')
      .header('x-ratelimit-reset', String(retryAfter))
    throw new RateLimitedError(retryAfter, max, window)
  })
}
