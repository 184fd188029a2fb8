/**
 * A @fastify/rate-limit store on node-redis, so that instances sharing Redis share each client's
 * budget. The plugin's own Redis store needs ioredis (`defineCommand`); the service talks to Redis
 * with node-redis only.
 */
import { createHash } from 'node:crypto'
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import { createRedisConnection } from '../../../src/cache/stores/redis/redis-connection.js'

/** Longest wait for Redis before the request is let through (the limiter fails open). */
export const DEFAULT_RATE_LIMIT_REDIS_TIMEOUT_MS = 200
/** Socket connect timeout of the limiter's connection. */
export const DEFAULT_RATE_LIMIT_CONNECT_TIMEOUT_MS = 2_000
/** Longest pause between reconnect attempts. */
export const DEFAULT_RATE_LIMIT_MAX_RECONNECT_DELAY_MS = 2_000

/**
 * Count one request of `KEYS[1]` in a fixed window of `ARGV[1]` ms: `{ count, remaining ttl }`.
 * A counter that somehow lost its expiry gets one again, so no key lives forever.
 */
const INCR_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return {current, tonumber(ARGV[1])}
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}
`
const INCR_SHA = createHash('sha1').update(INCR_SCRIPT).digest('hex')

/** The part of a Redis connection (`createRedisConnection`) the store uses. */
export interface RateLimitRedisClient {
  readonly isReady: boolean
  sendCommand(args: string[]): Promise<unknown>
  connect(): Promise<unknown>
  destroy(): void
  on(event: 'error', listener: (error: never) => void): unknown
}

export interface RedisRateLimitStoreOptions {
  /** Any `REDIS_URL` form: `redis://`, `rediss://` (TLS), `user:password@`, `redis+cluster://`, `redis+sentinel://`. */
  url: string
  /** Key prefix; the counters are `<prefix><client key>`. */
  prefix: string
  /** @default 200 */
  timeout?: number
  /** Told about connection errors (they never fail a request). @default undefined */
  onError?: (error: unknown) => void
}

/** The counters' Redis connection and the store class @fastify/rate-limit instantiates. */
export interface RedisRateLimitBackend {
  readonly client: RateLimitRedisClient
  /** Pass as the plugin's `store` option. */
  readonly Store: FastifyRateLimitStoreCtor
  close(): void
}

/**
 * Open (lazily, without waiting) the limiter's own Redis connection with the offline queue off,
 * and build the store class on it. Every call has a deadline: a slow or absent Redis makes the
 * call fail, and the plugin (with `skipOnError`) lets the request through.
 *
 * @example
 * const backend = redisRateLimitStore({ url: 'redis://127.0.0.1:6379', prefix: 'hp:rl:' })
 * await app.register(rateLimit, { store: backend.Store, skipOnError: true })
 */
export function redisRateLimitStore(options: RedisRateLimitStoreOptions): RedisRateLimitBackend {
  const timeout = options.timeout ?? DEFAULT_RATE_LIMIT_REDIS_TIMEOUT_MS
  // The same connection rules as the cache: no offline queue, bounded queue, capped reconnects.
  const client: RateLimitRedisClient = createRedisConnection({
    url: options.url,
    connectTimeout: DEFAULT_RATE_LIMIT_CONNECT_TIMEOUT_MS,
    maxReconnectDelay: DEFAULT_RATE_LIMIT_MAX_RECONNECT_DELAY_MS,
  })
  client.on('error', (error: never) => options.onError?.(error))
  let closed = false
  const connecting = client.connect().catch((error: unknown) => options.onError?.(error))

  const withDeadline = <T>(call: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`rate limit: no Redis reply within ${timeout} ms`)), timeout)
    })
    return Promise.race([call, deadline]).finally(() => clearTimeout(timer))
  }

  const count = async (key: string, window: number): Promise<{ current: number; ttl: number }> => {
    if (closed) throw new Error('rate limit: the Redis store is closed')
    if (!client.isReady) await withDeadline(connecting)
    const args = ['1', key, String(window)]
    let reply: unknown
    try {
      reply = await withDeadline(client.sendCommand(['EVALSHA', INCR_SHA, ...args]))
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      reply = await withDeadline(client.sendCommand(['EVAL', INCR_SCRIPT, ...args]))
    }
    const [current, ttl] = reply as [number, number]
    return { current: Number(current), ttl: Number(ttl) }
  }

  class RedisRateLimitStore implements FastifyRateLimitStore {
    readonly #prefix: string

    /** The plugin constructs it with its resolved options, which the store does not need. */
    constructor(_pluginOptions?: unknown, prefix: string = options.prefix) {
      this.#prefix = prefix
    }

    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ): void {
      count(this.#prefix + key, timeWindow).then(
        (result) => callback(null, result),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      )
    }

    /** Per-route budgets (`config.rateLimit` on a route) count under the route's own prefix. */
    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      // The plugin passes its merged parameters, with the route under `routeInfo`.
      const route = (routeOptions as { routeInfo?: { method?: unknown; url?: unknown } }).routeInfo
      if (typeof route?.url !== 'string') return new RedisRateLimitStore(undefined, this.#prefix)
      const methods = Array.isArray(route.method) ? route.method.join(',') : String(route.method)
      return new RedisRateLimitStore(undefined, `${this.#prefix}${methods}${route.url}:`)
    }
  }

  return {
    client,
    Store: RedisRateLimitStore,
    close() {
      if (closed) return
      closed = true
      try {
        client.destroy()
      } catch {
        // Already closed by a failed connect: nothing left to release.
      }
    },
  }
}
