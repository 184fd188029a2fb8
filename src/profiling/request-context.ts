import { AsyncLocalStorage } from 'node:async_hooks'
import diagnostics from 'node:diagnostics_channel'

import { CACHE_HIT_CHANNEL, CACHE_MISS_CHANNEL, CACHE_STALE_CHANNEL, DB_QUERY_CHANNEL } from './defaults.js'
import { isDbQueryEvent } from './db-query-event.js'
import type { TimingEntry } from './server-timing.js'
import { sqlShape } from './sql-shape.js'

/**
 * Per-request diagnostics: timings other layers add, and the database work the request did.
 * One instance per request, reached through {@link currentRequestContext} from anywhere inside it.
 */
export class RequestContext {
  /** `performance.now()` when the request started. */
  readonly startedAt: number
  /** Route pattern (`/items/:id`), or the path when no route matched. */
  route: string
  readonly method: string
  /** Timings added by layers, in order; `null` until the first one (most requests add none). */
  timings: TimingEntry[] | null = null
  queryCount = 0
  queryMs = 0
  /** Same-shape query counts; `null` until a query runs while shapes are tracked. */
  queryShapes: Map<string, number> | null = null
  /** Whether {@link queryShapes} is collected (the N+1 detector asks for it). */
  tracksQueryShapes = false
  /**
   * The first cache lookup outcome (`hit-l1`, `miss-l2`…) seen on `hotpath:cache:*`, and how many
   * lookups had it; `null` until one. Most requests make one lookup: no collection for them.
   */
  cacheOutcome: string | null = null
  cacheOutcomeCount = 0
  /** Every outcome with its count, once a second, different outcome was seen; else `null`. */
  cacheOutcomes: Map<string, number> | null = null
  /** `performance.now()` when serialization started (set by the Server-Timing adapter). */
  serializeStartedAt = 0
  /** The framework's request object, for adapters that need it back (e.g. its logger). */
  owner: unknown = undefined
  /**
   * @internal Links of the in-flight list (see {@link activeRequestContexts}): intrusive, so that
   * counting a request in and out costs two pointer writes, not a `Set` insert that first gives
   * the fresh object an identity hash.
   */
  previousInFlight: RequestContext | null = null
  /** @internal See {@link previousInFlight}. */
  nextInFlight: RequestContext | null = null

  constructor(method: string, route: string, startedAt = performance.now()) {
    this.method = method
    this.route = route
    this.startedAt = startedAt
  }

  /** Add a timing; shows up in `Server-Timing` as `name;desc="description";dur=ms`. */
  addTiming(name: string, durationMs?: number, description?: string): void {
    ;(this.timings ??= []).push({ name, durationMs, description })
  }

  /** Alias of {@link addTiming}: `serverTiming(request).add('cache', 0.3, 'hit-l1')`. */
  add(name: string, durationMs?: number, description?: string): void {
    ;(this.timings ??= []).push({ name, durationMs, description })
  }

  /** Count same-shape queries from now on (what the N+1 detector reads). */
  trackQueryShapes(): void {
    this.tracksQueryShapes = true
  }

  /** @internal called by the cache event subscriber. */
  recordCacheOutcome(outcome: string): void {
    if (this.cacheOutcomes === null) {
      if (this.cacheOutcome === null || this.cacheOutcome === outcome) {
        this.cacheOutcome = outcome
        this.cacheOutcomeCount++
        return
      }
      this.cacheOutcomes = new Map([[this.cacheOutcome, this.cacheOutcomeCount]])
    }
    this.cacheOutcomes.set(outcome, (this.cacheOutcomes.get(outcome) ?? 0) + 1)
  }

  /** @internal called by the query subscriber. */
  recordQuery(sql: string, durationMs: number): void {
    this.queryCount++
    this.queryMs += durationMs
    if (this.tracksQueryShapes) {
      const shape = sqlShape(sql)
      const shapes = (this.queryShapes ??= new Map())
      shapes.set(shape, (shapes.get(shape) ?? 0) + 1)
    }
  }
}

const storage = new AsyncLocalStorage<RequestContext>()
/** Requests in flight while something watches them (see {@link watchEndedRequests}), newest last. */
let firstInFlight: RequestContext | null = null
let lastInFlight: RequestContext | null = null

function addInFlight(context: RequestContext): void {
  if (context.previousInFlight !== null || firstInFlight === context) return
  context.previousInFlight = lastInFlight
  if (lastInFlight === null) firstInFlight = context
  else lastInFlight.nextInFlight = context
  lastInFlight = context
}

/** Whether `context` was in flight (it no longer is). */
function removeInFlight(context: RequestContext): boolean {
  const previous = context.previousInFlight
  if (previous === null && firstInFlight !== context) return false
  const next = context.nextInFlight
  if (previous === null) firstInFlight = next
  else previous.nextInFlight = next
  if (next === null) lastInFlight = previous
  else next.previousInFlight = previous
  context.previousInFlight = null
  context.nextInFlight = null
  return true
}

/** The in-flight contexts, oldest first (a copy: callers may end contexts while iterating). */
function inFlight(): RequestContext[] {
  const contexts: RequestContext[] = []
  for (let context = firstInFlight; context !== null; context = context.nextInFlight) contexts.push(context)
  return contexts
}
/**
 * Method and route of requests ended since the last mark, flat (`[method, route, method, route…]`):
 * strings the request holds anyway, so remembering them keeps no request object alive past the
 * young-generation GC (holding the contexts for a tick promoted every request to the old space).
 */
let endedSinceMark: string[] | null = null
let endedWatchers = 0
const MAX_ENDED_TRACKED = 1_000

/** The request whose hooks and handler run synchronously right now (see {@link runSyncWithRequestContext}). */
let syncContext: RequestContext | undefined

/** The request a channel event belongs to: the async context, else the synchronous window. */
function attributedContext(): RequestContext | undefined {
  return storage.getStore() ?? syncContext
}

function onQuery(message: unknown): void {
  const context = attributedContext()
  if (context !== undefined && isDbQueryEvent(message)) context.recordQuery(message.sql, message.durationMs)
}
let subscribed = false

const CACHE_OUTCOMES = [
  [CACHE_HIT_CHANNEL, 'hit'],
  [CACHE_MISS_CHANNEL, 'miss'],
  [CACHE_STALE_CHANNEL, 'stale'],
] as const
let cacheSubscribed = false
/** Tiers whose outcome names (`hit-l1`, `miss-l2`…) are kept, per outcome. */
const MAX_NAMED_TIERS = 16

/**
 * Record the cache outcomes (`hit-l1`, `miss-l2`, `stale-l2`) of each request from the cache core's
 * `hotpath:cache:hit|miss|stale` events, for Server-Timing. Process-wide and idempotent; it makes the
 * cache publish its events, which costs each lookup a small payload.
 */
export function watchCacheOutcomes(): void {
  if (cacheSubscribed) return
  cacheSubscribed = true
  for (const [channel, outcome] of CACHE_OUTCOMES) {
    // `hit-l1`, `miss-l2`…: built once per tier, not per lookup.
    const names = new Map<string, string>()
    const nameFor = (tier: string): string => {
      let name = names.get(tier)
      if (name === undefined) {
        name = `${outcome}-${tier}`
        if (names.size < MAX_NAMED_TIERS) names.set(tier, name)
      }
      return name
    }
    diagnostics.subscribe(channel, (message) => {
      const context = attributedContext()
      if (context === undefined) return
      const tier = (message as { tier?: unknown } | null)?.tier
      context.recordCacheOutcome(typeof tier === 'string' ? nameFor(tier) : outcome)
    })
  }
}

/**
 * Run `fn` with `context` as the current request context (and count it as in flight until
 * {@link endRequestContext}).
 *
 * @example
 * const context = new RequestContext('GET', '/items/:id')
 * runWithRequestContext(context, () => handle(request))
 */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  if (!subscribed) {
    // Subscribed once for the process; counting costs one ALS lookup per query.
    diagnostics.subscribe(DB_QUERY_CHANNEL, onQuery)
    subscribed = true
  }
  if (endedWatchers > 0) addInFlight(context)
  return storage.run(context, fn)
}

/**
 * Attribute the `hotpath:db:query` and `hotpath:cache:*` events published while `fn` runs
 * synchronously (up to its first `await`) to `context`, without AsyncLocalStorage: sound because
 * nothing else runs in between, and free of the per-promise hook AsyncLocalStorage costs on Node 20.
 * Events after an `await` (a cache miss's queries, a Redis lookup) are not attributed.
 *
 * @example
 * runSyncWithRequestContext(context, () => handler(request)) // an L1 hit inside is attributed
 */
export function runSyncWithRequestContext(context: RequestContext, fn: () => void): void {
  if (!subscribed) {
    diagnostics.subscribe(DB_QUERY_CHANNEL, onQuery)
    subscribed = true
  }
  const previous = syncContext
  syncContext = context
  try {
    fn()
  } finally {
    syncContext = previous
  }
}

/**
 * Count `context` as in flight without making it current (for adapters that need no
 * AsyncLocalStorage: it costs every promise of the process a hook on Node 20).
 */
export function beginRequestContext(context: RequestContext): void {
  if (endedWatchers > 0) addInFlight(context)
}

/** Mark a request finished: it no longer counts as in flight. */
export function endRequestContext(context: RequestContext): void {
  if (!removeInFlight(context)) return
  if (endedSinceMark !== null && endedSinceMark.length < MAX_ENDED_TRACKED * 2) {
    endedSinceMark.push(context.method, context.route)
  }
}

/** The context of the request the caller runs in, if any. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore()
}

/**
 * Add a `Server-Timing` entry to the current request, from any layer (framework-free). A no-op
 * outside a request.
 *
 * @example
 * const started = performance.now()
 * const value = await cache.get(key)
 * recordTiming('cache', performance.now() - started, 'hit-l1')
 */
export function recordTiming(name: string, durationMs?: number, description?: string): void {
  storage.getStore()?.addTiming(name, durationMs, description)
}

/**
 * How an adapter tells whether the request behind a context is still open (`owner` is its
 * framework request). Set by adapters that do not end contexts of aborted requests themselves: a
 * per-request abort listener costs every request (a `'close'` listener on Node's
 * `IncomingMessage`: measured +10 µs per cached request on a 2-vCPU VM), while checking the few
 * in-flight contexts when a reader looks at them costs nothing per request.
 */
let ownerAlive: ((owner: unknown) => boolean) | undefined

/** @internal Register the liveness check of context owners (see {@link ownerAlive}). */
export function setRequestLiveness(check: (owner: unknown) => boolean): void {
  ownerAlive = check
}

/** End the contexts whose request was aborted (closed without a response). */
function pruneAborted(): void {
  const alive = ownerAlive
  if (alive === undefined || firstInFlight === null) return
  for (const context of inFlight()) {
    if (context.owner !== undefined && !alive(context.owner)) endRequestContext(context)
  }
}

/** Requests currently in flight (tracked while a blocking detector runs, the only reader). */
export function activeRequestContexts(): ReadonlySet<RequestContext> {
  pruneAborted()
  return new Set(inFlight())
}

/**
 * @internal `METHOD /route` of requests that were in flight at any time since the previous call (the blocking
 * detector uses it: the request that blocked the loop has often finished by the time a timer runs).
 */
export function takeRecentRoutes(): string[] {
  pruneAborted()
  const recent: string[] = []
  for (const context of inFlight()) recent.push(`${context.method} ${context.route}`)
  if (endedSinceMark !== null) {
    for (let i = 0; i + 1 < endedSinceMark.length; i += 2) {
      recent.push(`${endedSinceMark[i]} ${endedSinceMark[i + 1]}`)
    }
    endedSinceMark.length = 0
  }
  return recent
}

/** @internal Drop the ended requests remembered so far (a tick without a stall). */
export function forgetEndedRequests(): void {
  if (endedSinceMark !== null) endedSinceMark.length = 0
}

/** @internal Start or stop remembering ended requests between {@link takeRecentRoutes} calls. */
export function watchEndedRequests(watch: boolean): void {
  endedWatchers += watch ? 1 : -1
  if (endedWatchers > 0) endedSinceMark ??= []
  else {
    endedWatchers = 0
    endedSinceMark = null
  }
}
