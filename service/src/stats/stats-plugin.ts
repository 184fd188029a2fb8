import { availableParallelism } from 'node:os'

import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Piscina } from 'piscina'

import { computePriceStats, DEFAULT_BOOTSTRAP_ROUNDS, type PriceStats } from './price-stats.js'
import type { PriceStatsTask } from './price-stats-worker.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The statistics worker pool, as far as operators need to see it. */
    statsPool: { readonly threads: number }
  }
}

export interface StatsPluginOptions {
  /**
   * Loads every item price. The service wires it to its items table.
   * @default reads `items.price` through `app.service.database.db`
   */
  loadPrices?: () => Promise<ArrayLike<number>>
  /**
   * Worker threads of the pool.
   * @default availableParallelism() - 1, at least 1
   */
  maxThreads?: number
  /**
   * Largest `rounds` a client may ask for.
   * @default 5000
   */
  maxRounds?: number
  /**
   * How long (ms) a worker thread lives without work. The pool starts none until the first pooled
   * request (see {@link DEFAULT_POOL_IDLE_TIMEOUT_MS}).
   * @default 10000
   */
  idleTimeout?: number
}

export const DEFAULT_MAX_ROUNDS = 5_000
/**
 * The pool keeps no thread while nobody asks for pooled statistics: an idle piscina thread holds
 * its own V8 heap, about 10–13 MiB of RSS (measured with `minThreads` 1 against 0), in every
 * process of `serve --workers N`. It does not measurably cost other requests CPU
 * (`npx tsx bench/profiling/attribution.ts --set worker`). A worker starts in tens of
 * milliseconds, once per burst of pooled requests, and leaves this long after the last one.
 */
export const DEFAULT_POOL_IDLE_TIMEOUT_MS = 10_000

const StatsQuery = Type.Object(
  {
    mode: Type.Optional(Type.Union([Type.Literal('inline'), Type.Literal('pooled')])),
    rounds: Type.Optional(Type.Integer({ minimum: 0, maximum: DEFAULT_MAX_ROUNDS })),
  },
  { additionalProperties: false },
)

/**
 * The worker module next to this file, as `.ts` under tsx/vitest and `.js` in `dist/`; a `.ts`
 * worker thread gets the tsx loader, since worker threads do not inherit a test runner's transform.
 */
function workerModule(): { filename: string; execArgv: string[] } {
  const typescript = import.meta.url.endsWith('.ts')
  const filename = new URL(`./price-stats-worker.${typescript ? 'ts' : 'js'}`, import.meta.url).href
  return { filename, execArgv: typescript ? ['--import', 'tsx'] : [] }
}

const plugin: FastifyPluginAsync<StatsPluginOptions> = async (fastify, options) => {
  const maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS
  if (!Number.isInteger(maxRounds) || maxRounds < 0) {
    throw new TypeError(`stats: "maxRounds" must be an integer >= 0, got ${options.maxRounds}`)
  }
  const maxThreads = options.maxThreads ?? Math.max(1, availableParallelism() - 1)
  if (!Number.isInteger(maxThreads) || maxThreads < 1) {
    throw new TypeError(`stats: "maxThreads" must be an integer >= 1, got ${options.maxThreads}`)
  }
  const loadPrices =
    options.loadPrices ??
    (async () => {
      const rows = await fastify.service.database.db.selectFrom('items').select('price').execute()
      return rows.map((row) => row.price)
    })
  const idleTimeout = options.idleTimeout ?? DEFAULT_POOL_IDLE_TIMEOUT_MS
  if (!Number.isInteger(idleTimeout) || idleTimeout < 0) {
    throw new TypeError(`stats: "idleTimeout" must be an integer >= 0, got ${options.idleTimeout}`)
  }
  const { filename, execArgv } = workerModule()
  const pool = new Piscina<PriceStatsTask, PriceStats>({
    filename,
    execArgv,
    minThreads: 0,
    maxThreads,
    idleTimeout,
  })
  fastify.addHook('onClose', async () => {
    await pool.destroy()
  })
  fastify.decorate('statsPool', {
    get threads() {
      return pool.threads.length
    },
  })

  fastify.get<{ Querystring: { mode?: 'inline' | 'pooled'; rounds?: number } }>(
    '/stats/prices',
    { schema: { querystring: StatsQuery } },
    async (request, reply) => {
      const mode = request.query.mode ?? 'pooled'
      const rounds = request.query.rounds ?? DEFAULT_BOOTSTRAP_ROUNDS
      if (rounds > maxRounds) {
        return reply.code(400).send({
          error: { code: 'E_VALIDATION', message: `"rounds" must be at most ${maxRounds}, got ${rounds}` },
        })
      }
      const prices = Float64Array.from(await loadPrices())
      const options = { bootstrapRounds: rounds }
      const stats =
        mode === 'inline'
          ? computePriceStats(prices, options)
          : await pool.run({ prices, options }, { transferList: [prices.buffer] })
      return { mode, ...stats }
    },
  )
}

/**
 * `GET /stats/prices?mode=inline|pooled&rounds=200`: price statistics over all items (percentiles,
 * histogram, bootstrap CI of the median). `inline` computes on the event loop and stalls every other
 * request meanwhile; `pooled` runs the same code in a piscina worker pool.
 *
 * @example
 * await app.register(statsPlugin)
 * // curl 'localhost:3000/stats/prices?mode=pooled'
 */
export const statsPlugin = fp(plugin, { fastify: '5.x', name: 'hotpath-service-stats' })
