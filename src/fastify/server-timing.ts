import type { FastifyPluginCallback, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

import { useRequestContext } from './profiling/request-context-hooks.js'
import { watchCacheOutcomes, type RequestContext } from '../profiling/request-context.js'
import { formatServerTiming, type TimingEntry } from '../profiling/server-timing.js'

export interface ServerTimingOptions {
  /*
   * `cache` and `db` attribute channel events to requests through AsyncLocalStorage, which on
   * Node 20 adds an async hook to every promise and tick of the process (about 0.6 µs per request
   * in bench/profiling/overhead.ts); with both off, and the profiling plugin's slow-query and N+1
   * detectors off, no AsyncLocalStorage is used.
   */
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
   * Add a `cache;desc="hit-l1"` entry from the cache core's `hotpath:cache:hit|miss|stale` events
   * when no layer added a `cache` timing itself (several lookups: `desc="2 hit-l1, 1 miss-l2"`).
   * @default true
   */
  cache?: boolean
  /**
   * Add the `total` entry (request received → `onSend`).
   * @default true
   */
  total?: boolean
  /**
   * How `db` and `cache` events are tied to their request. `'async'`: AsyncLocalStorage, every
   * event of the request (on Node 20 it hooks every promise of the process: about +10 µs CPU per
   * cached request on the reference service). `'sync'`: only events published synchronously in the
   * route handler up to its first `await` (an in-memory L1 hit is; a miss's queries are not), at
   * the cost of one hook.
   * @default 'async'
   */
  attribution?: 'async' | 'sync'
}

interface ResolvedServerTimingOptions {
  readonly cache: boolean
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
  for (const key of ['cache', 'db', 'serialize', 'total'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      return done(
        new TypeError(`serverTiming: option "${key}" must be a boolean, got ${typeof options[key]}`),
      )
    }
  }
  const resolved: ResolvedServerTimingOptions = Object.freeze({
    cache: options.cache ?? true,
    db: options.db ?? true,
    serialize: options.serialize ?? true,
    total: options.total ?? true,
  })
  const attribution = options.attribution ?? 'async'
  if (attribution !== 'async' && attribution !== 'sync') {
    return done(
      new TypeError(
        `serverTiming: option "attribution" must be 'async' or 'sync', got ${String(attribution)}`,
      ),
    )
  }
  const hooks = useRequestContext(fastify)
  // Queries and cache events arrive on channels: attributing them to a request needs a context.
  if (resolved.db || resolved.cache) {
    if (attribution === 'async') hooks.useAsyncContext()
    else hooks.useSyncContext()
  }
  if (resolved.cache) watchCacheOutcomes()

  if (resolved.serialize) {
    fastify.addHook('preSerialization', (request, _reply, payload, next) => {
      if (request.hotpathContext !== null) request.hotpathContext.serializeStartedAt = performance.now()
      next(null, payload)
    })
  }
  hooks.onSend.push((_request, reply, context) => {
    const now = performance.now()
    // Built by hand: this runs on every response and the generic formatter allocates per entry.
    const timings = context.timings
    let value = timings === null ? '' : formatServerTiming(timings)
    if (resolved.cache && context.cacheOutcome !== null && (timings === null || !hasCacheTiming(timings))) {
      const entry =
        context.cacheOutcomes === null
          ? cacheEntry(context.cacheOutcome, context.cacheOutcomeCount)
          : cacheEntries(context.cacheOutcomes)
      value = value === '' ? entry : `${value}, ${entry}`
    }
    if (resolved.db && context.queryCount > 0) {
      const noun = context.queryCount === 1 ? 'query' : 'queries'
      value += `${value === '' ? '' : ', '}db;desc="${context.queryCount} ${noun}";dur=${round(context.queryMs)}`
    }
    if (resolved.serialize && context.serializeStartedAt > 0) {
      value += `${value === '' ? '' : ', '}serialize;dur=${round(now - context.serializeStartedAt)}`
    }
    if (resolved.total) value += `${value === '' ? '' : ', '}total;dur=${round(now - context.startedAt)}`
    if (value === '') return
    const existing = reply.getHeader('server-timing')
    reply.header(
      'server-timing',
      typeof existing === 'string' && existing !== '' ? `${existing}, ${value}` : value,
    )
  })
  done()
}

function hasCacheTiming(timings: readonly TimingEntry[]): boolean {
  for (const timing of timings) if (timing.name === 'cache') return true
  return false
}

/** `cache;desc="hit-l1"` of a request with one lookup: formatted once per outcome, not per request. */
const singleOutcomeEntries = new Map<string, string>()
const MAX_SINGLE_OUTCOME_ENTRIES = 64

function cacheEntry(outcome: string, count: number): string {
  if (count !== 1) return formatServerTiming([{ name: 'cache', description: `${count} ${outcome}` }])
  let entry = singleOutcomeEntries.get(outcome)
  if (entry === undefined) {
    entry = formatServerTiming([{ name: 'cache', description: outcome }])
    if (singleOutcomeEntries.size < MAX_SINGLE_OUTCOME_ENTRIES) singleOutcomeEntries.set(outcome, entry)
  }
  return entry
}

function cacheEntries(outcomes: ReadonlyMap<string, number>): string {
  const description = [...outcomes].map(([outcome, count]) => `${count} ${outcome}`).join(', ')
  return formatServerTiming([{ name: 'cache', description }])
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
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
