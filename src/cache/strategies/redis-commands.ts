import { WriteBehindUnavailableError } from '../../errors.js'
import { createRedisConnection } from '../stores/redis/redis-connection.js'
import type { StrategyScript } from './write-behind-scripts.js'

type RedisArg = string | Buffer

/** The shape of a node-redis 5 client the write strategies need (typed by shape, not by import). */
export interface StrategyRedisClient {
  readonly isOpen: boolean
  connect(): Promise<unknown>
  sendCommand<T = unknown>(args: readonly RedisArg[], options?: { routeKey?: string }): Promise<T>
  destroy(): void
  duplicate?(overrides?: Record<string, unknown>): StrategyRedisClient
  on(event: string, listener: (...args: never[]) => void): unknown
}

/**
 * An owned client: no offline queue (a write while Redis is down fails at once instead of piling
 * up). `url` may name a Redis Cluster (`redis+cluster://host:port,host:port`) and carry TLS
 * (`rediss://`) and ACL credentials.
 */
export function createStrategyClient(url: string, onError: (error: unknown) => void): StrategyRedisClient {
  const client = createRedisConnection({ url }) as StrategyRedisClient
  client.on('error', (error: never) => onError(error))
  return client
}

/**
 * Run one command with a deadline. node-redis' own timeout stops at the socket write, so a stalled
 * server would otherwise hang the caller.
 */
export function call<T>(
  client: StrategyRedisClient,
  args: readonly RedisArg[],
  timeoutMs: number,
  operation: string,
  routeKey?: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new WriteBehindUnavailableError(operation, `no reply from Redis within ${timeoutMs} ms`)),
      timeoutMs,
    )
  })
  // A keyless command (WAIT) is routed by `routeKey` on a cluster; a standalone client needs no hint.
  const command =
    routeKey === undefined ? client.sendCommand<T>(args) : client.sendCommand<T>(args, { routeKey })
  return Promise.race([command, deadline]).then(
    (value) => {
      clearTimeout(timer)
      return value
    },
    (error: unknown) => {
      clearTimeout(timer)
      // A late rejection of the losing command must not become an unhandled rejection.
      command.catch(() => {})
      if (error instanceof WriteBehindUnavailableError) throw error
      throw new WriteBehindUnavailableError(
        operation,
        error instanceof Error ? error.message : String(error),
        {
          cause: error,
        },
      )
    },
  )
}

/** EVALSHA, loading the script with EVAL when the server does not know it yet. */
export async function evalScript<T>(
  client: StrategyRedisClient,
  script: StrategyScript,
  keys: readonly string[],
  args: readonly RedisArg[],
  timeoutMs: number,
  operation: string,
): Promise<T> {
  const tail = [String(keys.length), ...keys, ...args]
  try {
    return await call<T>(client, ['EVALSHA', script.sha, ...tail], timeoutMs, operation)
  } catch (error) {
    if (!(error instanceof WriteBehindUnavailableError) || !String(error.message).includes('NOSCRIPT'))
      throw error
    return call<T>(client, ['EVAL', script.source, ...tail], timeoutMs, operation)
  }
}
