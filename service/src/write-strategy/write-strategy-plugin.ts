import type { FastifyReply, FastifyRequest } from 'fastify'
import { HotpathError } from '../../../src/errors.js'
import { createRedisConnection } from '../../../src/cache/stores/redis/redis-connection.js'
import type { StrategyRedisClient } from '../../../src/cache/strategies/redis-commands.js'
import {
  createWriteBehind,
  type WriteBehind,
  type WriteBehindOptions,
} from '../../../src/cache/strategies/write-behind.js'
import type { ServiceSetup } from '../app.js'
import { ConfigError } from '../errors.js'
import type { Item } from '../items/schemas.js'
import { ItemsWriteRepository } from './items-write-repository.js'
import { WriteBehindItems } from './write-behind-items.js'

export const WRITE_STRATEGIES = ['through', 'behind'] as const
export type WriteStrategyName = (typeof WRITE_STRATEGIES)[number]
export const DEFAULT_WRITE_STRATEGY: WriteStrategyName = 'through'
export const DEFAULT_WRITE_BEHIND_PREFIX = 'hotpath:wb'
/** Queue name of item writes (and the Redis Cluster hash tag of its keys). */
export const ITEMS_QUEUE = 'items'

/**
 * `WRITE_STRATEGY=through|behind` (default `through`).
 *
 * @throws ConfigError naming the variable when the value is neither
 */
export function writeStrategyFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): WriteStrategyName {
  const value = env.WRITE_STRATEGY
  if (value === undefined || value === '') return DEFAULT_WRITE_STRATEGY
  if ((WRITE_STRATEGIES as readonly string[]).includes(value)) return value as WriteStrategyName
  throw new ConfigError('WRITE_STRATEGY', value, "'through' or 'behind'")
}

export interface WriteStrategySetupOptions {
  /** @default 'through' */
  strategy?: WriteStrategyName
  /** Redis of the write-behind queue. @default the service's REDIS_URL, else 'redis://127.0.0.1:6379' */
  redisUrl?: string
  /** Prefix of the queue's Redis keys. @default 'hotpath:wb' */
  prefix?: string
  /** Write-behind tuning (batch size, maxPending, retries, consumer name, WAIT/WAITAOF…). @default {} */
  writeBehind?: Omit<WriteBehindOptions<Item, number>, 'client' | 'url' | 'prefix' | 'name'>
  /** Called with the write-behind queue once it is connected (stats, events, tests). @default undefined */
  onReady?: (writes: WriteBehind<Item, number>) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The items write-behind queue when `WRITE_STRATEGY=behind` (stats, flush, metrics with
     * `registerWriteBehindMetrics`); absent with write-through.
     */
    writeBehind?: WriteBehind<Item, number>
  }
}

const ALLOCATE_FLOOR = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`

/**
 * The service's write strategy, as a `buildApp` setup step.
 *
 * - `through`: the items routes commit to the database and then refresh the cache
 *   (`ServiceCache.itemWritten`); nothing is replaced.
 * - `behind`: `POST /items`, `PUT/PATCH/DELETE /items/:id` go through a durable write-behind
 *   queue in Redis; reads see pending writes; a full queue answers 503 with `Retry-After`;
 *   `app.close()` drains what this instance took.
 *
 * @example
 * const app = await buildApp(config, { plugins: [writeStrategySetup({ strategy: writeStrategyFromEnv() })] })
 */
export function writeStrategySetup(options: WriteStrategySetupOptions = {}): ServiceSetup {
  return async (app) => {
    if ((options.strategy ?? DEFAULT_WRITE_STRATEGY) !== 'behind') return
    const { config, database, repositories, cache } = app.service
    // One way to open Redis for the library and the service: a standalone server, TLS, ACL user or
    // a cluster (redis+cluster://), no offline queue, capped reconnects.
    const client = createRedisConnection({
      url: options.redisUrl ?? config.redisUrl ?? 'redis://127.0.0.1:6379',
    })
    client.on('error', (error: unknown) => app.log.warn({ err: error }, 'write-behind redis connection'))
    await client.connect()
    const prefix = options.prefix ?? DEFAULT_WRITE_BEHIND_PREFIX
    const repository = new ItemsWriteRepository(database.db, database.dialect)
    let writes: WriteBehind<Item, number> | undefined
    try {
      await repository.ensureSchema()
      writes = createWriteBehind<Item, number>(repository, {
        ...options.writeBehind,
        client,
        prefix,
        name: ITEMS_QUEUE,
        // The flushed rows go into the cache, and lists and searches are invalidated, once per
        // batch rather than per write (item reads ask the queue first meanwhile). A cache that
        // cannot take it is retried in the background, as after a write-through commit.
        afterCommit: async (batch) => {
          const ids = batch.deletes.map((target) => target.id)
          await cache?.afterCommit(
            () => cache.itemsFlushed(batch.upserts, ids),
            (error) =>
              app.log.warn({ err: error }, 'cache update after a write-behind flush failed; retrying'),
          )
          await options.writeBehind?.afterCommit?.(batch)
        },
      })
      writes.on('error', ({ operation, error }) => app.log.warn({ err: error, operation }, 'write-behind'))
      writes.on('dead-letter', ({ key, version, error }) =>
        app.log.error({ err: error, key, version }, 'write-behind: write moved to the dead letters'),
      )
      await writes.connect()
      const sequence = `${prefix}:{${ITEMS_QUEUE}}:ids`
      await client.sendCommand(['EVAL', ALLOCATE_FLOOR, '1', sequence, String(await repository.maxId())])
      const allocateId = async () =>
        Number(await (client as unknown as StrategyRedisClient).sendCommand<number>(['INCR', sequence]))
      const items: WriteBehindItems = new WriteBehindItems(repositories.items, writes, {
        allocateId,
        // Writes read the item through the cache (an L1 hit after the first read) with the
        // pending-first findById as its loader: no database query on the write path. The cached
        // row may be older than a pending write: a full replace only needs its existence and a
        // base version (the queue assigns one above every version it gave), and a partial PATCH
        // asks the queue first (WriteBehindItems).
        readCurrent:
          cache?.reads === true
            ? async (id) => (await cache.item(id, () => items.findById(id))).value
            : undefined,
      })
      repositories.items = items
    } catch (error) {
      await writes?.close()
      client.destroy()
      throw error
    }
    const queue = writes
    app.decorate('writeBehind', queue)
    options.onReady?.(queue)

    const retryAfter = new WeakMap<FastifyRequest, number>()
    app.addHook('onError', (request, _reply, error, done) => {
      if (error instanceof HotpathError && 'retryAfter' in error && typeof error.retryAfter === 'number') {
        retryAfter.set(request, error.retryAfter)
      }
      done()
    })
    app.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload, done) => {
      const seconds = retryAfter.get(request)
      if (seconds !== undefined && reply.statusCode === 503) reply.header('retry-after', String(seconds))
      done(null, payload)
    })
    // Before the database closes (onClose): drain what this instance took while the database is up.
    app.addHook('preClose', async () => {
      await queue.close()
      client.destroy()
    })
  }
}
