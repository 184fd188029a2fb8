import type { FastifyPluginCallback, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

import { useRequestContext } from './profiling/request-context-hooks.js'
import type { RequestContext } from '../profiling/request-context.js'
import { formatServerTiming, type TimingEntry } from '../profiling/server-timing.js'

export interface ServerTimingOptions {
  /**
   * Add the `db` entry (`db;desc="3 queries";dur=…`, from `hotpath:db:query`) when the request ran queries.
   * @default true
   */
  db?: boolean
  /**
   * Add the `serialize` entry (Fastify `preSerialization` → `onSend`) when the payload was serialized.
   * @default true
   */
  serialize?: boolean
  /**
   * Add the `total` entry (request received → `onSend`).
   * @default true
   */
  total?: boolean
}

interface ResolvedServerTimingOptions {
  readonly db: boolean
  readonly serialize: boolean
  readonly total: boolean
}

const NO_OP_TIMING = { add(): void {} }

/**
 * The timing recorder of a request: `serverTiming(request).add('cache', ms, 'hit-l1')`. Outside the
 * plugin it is a no-op, so layers can call it unconditionally. Framework-free code calls
 * `recordTiming()` from `hotpath/profiling` instead.
 *
 * @example
 * app.get('/items/:id', async (request) => {
 *   const started = performance.now()
 *   const item = await cache.get(key)
 *   serverTiming(request).add('cache', performance.now() - started, 'hit-l1')
 *   return item
 * })
 */
export function serverTiming(request: FastifyRequest): Pick<RequestContext, 'add'> {
  return request.hotpathContext ?? NO_OP_TIMING
}

const plugin: FastifyPluginCallback<ServerTimingOptions> = (fastify, options, done) => {
  for (const key of ['db', 'serialize', 'total'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      return done(
        new TypeError(`serverTiming: option "${key}" must be a boolean, got ${typeof options[key]}`),
      )
    }
  }
  const resolved: ResolvedServerTimingOptions = Object.freeze({
    db: options.db ?? true,
    serialize: options.serialize ?? true,
    total: options.total ?? true,
  })
  useRequestContext(fastify)

  fastify.addHook('preSerialization', (request, _reply, payload, next) => {
    if (request.hotpathContext !== null) request.hotpathContext.serializeStartedAt = performance.now()
    next(null, payload)
  })
  fastify.addHook('onSend', (request, reply, payload, next) => {
    const context = request.hotpathContext
    if (context === null) return next(null, payload)
    const now = performance.now()
    const entries: TimingEntry[] = context.timings.slice()
    if (resolved.db && context.queryCount > 0) {
      const noun = context.queryCount === 1 ? 'query' : 'queries'
      entries.push({ name: 'db', durationMs: context.queryMs, description: `${context.queryCount} ${noun}` })
    }
    if (resolved.serialize && context.serializeStartedAt > 0) {
      entries.push({ name: 'serialize', durationMs: now - context.serializeStartedAt })
    }
    if (resolved.total) entries.push({ name: 'total', durationMs: now - context.startedAt })
    if (entries.length > 0) {
      const value = formatServerTiming(entries)
      const existing = reply.getHeader('server-timing')
      reply.header(
        'server-timing',
        typeof existing === 'string' && existing !== '' ? `${existing}, ${value}` : value,
      )
    }
    next(null, payload)
  })
  done()
}

/**
 * Fastify plugin: a `Server-Timing` header on every response with the timings layers added
 * (`cache;desc="hit-l1";dur=0.2`), `db;desc="3 queries";dur=…`, `serialize;dur=…` and `total;dur=…`,
 * readable in browser devtools and by `hotpath bench`.
 *
 * @example
 * await app.register(serverTimingPlugin)
 */
export const serverTimingPlugin = fp(plugin, { fastify: '5.x', name: 'hotpath-server-timing' })
