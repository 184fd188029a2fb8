import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

import { ADMIN_TOKEN_HEADER, presentedToken, tokenChecker } from './profiling/admin-token.js'
import { useRequestContext } from './profiling/request-context-hooks.js'
import { BlockingDetector } from '../profiling/blocking-detector.js'
import { isCpuProfile, summarizeProfile, formatProfileSummary } from '../profiling/cpu-profile.js'
import { isProfiling, startCpuProfile, type RunningProfile } from '../profiling/cpu-profiler.js'
import {
  DEFAULT_BLOCKING_THRESHOLD_MS,
  DEFAULT_MAX_PROCESS_PROFILE_MS,
  DEFAULT_MAX_REQUEST_PROFILE_MS,
  DEFAULT_N_PLUS_ONE_THRESHOLD,
  DEFAULT_PROCESS_PROFILE_MS,
  DEFAULT_SAMPLING_INTERVAL_US,
  DEFAULT_SLOW_QUERY_MS,
  DEFAULT_SUMMARY_TOP,
} from '../profiling/defaults.js'
import { findNPlusOne } from '../profiling/n-plus-one.js'
import { ProfileStore } from '../profiling/profile-store.js'
import { watchQueries } from '../profiling/query-watcher.js'
import { sqlShape } from '../profiling/sql-shape.js'
import { HotpathError, ProfilerBusyError } from '../errors.js'
import { parseDuration, type Duration } from '../util/duration.js'

/** Header that turns profiling on for a request (same as `?profile=1`). */
export const PROFILE_REQUEST_HEADER = 'x-hotpath-profile'
/** Response header carrying the id of the saved profile. */
export const PROFILE_ID_HEADER = 'x-hotpath-profile-id'
/** Development-mode response header naming an N+1 query pattern. */
export const N_PLUS_ONE_HEADER = 'x-hotpath-n-plus-one'
const MAX_HEADER_SHAPE = 200

export interface ProfilingOptions {
  /**
   * Allow CPU profiles (`?profile=1` / `X-Hotpath-Profile: 1` and the `/debug` routes). Requires
   * `adminToken`. When off, the parameter is ignored and the routes do not exist.
   * @default false
   */
  enabled?: boolean
  /**
   * Token an admin presents as `Authorization: Bearer <token>` or `X-Hotpath-Admin-Token`.
   * Requests without it are served as if profiling did not exist.
   * @default undefined (required when `enabled`; at least 8 characters)
   */
  adminToken?: string
  /**
   * Directory for `.cpuprofile` files.
   * @default '.profiles'
   */
  dir?: string
  /**
   * Profiles kept on disk.
   * @default 50
   */
  maxProfiles?: number
  /**
   * Prefix of the admin routes (`GET <prefix>/profiles`, `GET <prefix>/profiles/:id`,
   * `GET <prefix>/profiles/:id/summary`, `POST <prefix>/profile?duration=10s`).
   * @default '/debug'
   */
  prefix?: string
  /**
   * V8 sampling interval in microseconds.
   * @default 100
   */
  samplingIntervalUs?: number
  /**
   * A request profile is cut off after this long.
   * @default '30s'
   */
  maxRequestProfile?: Duration
  /**
   * Longest `POST <prefix>/profile?duration=`.
   * @default '5m'
   */
  maxProcessProfile?: Duration
  /**
   * Log queries at or above `threshold` (SQL shape with literals redacted, duration, route). `false` turns it off.
   * With `routes: false` the log names the route only when another plugin already attributes work
   * to requests (Server-Timing `db`/`cache`, the N+1 detector): attribution needs AsyncLocalStorage,
   * which on Node 20 costs every promise of the process a hook (about 20 µs of CPU per cached
   * request on the reference service).
   * @default { threshold: '100ms', routes: true }
   */
  slowQuery?: { threshold?: Duration; routes?: boolean } | false
  /**
   * Warn when a request runs one query shape more than `threshold` times; with `header`, also
   * answer `X-Hotpath-N-Plus-One: <count>x <shape>`. `false` turns it off.
   * @default { threshold: 10, header: process.env.NODE_ENV === 'development' }
   */
  nPlusOne?: { threshold?: number; header?: boolean } | false
  /**
   * Log event-loop stalls longer than `threshold` with the routes in flight. `false` turns it off.
   * @default { threshold: '100ms', interval: '20ms' }
   */
  blocking?: { threshold?: Duration; interval?: Duration } | false
}

interface ResolvedProfilingOptions {
  readonly enabled: boolean
  readonly adminToken: string | undefined
  readonly prefix: string
  readonly samplingIntervalUs: number
  readonly maxRequestProfileMs: number
  readonly maxProcessProfileMs: number
  readonly slowQueryMs: number | null
  readonly slowQueryRoutes: boolean
  readonly nPlusOne: { readonly threshold: number; readonly header: boolean } | null
  readonly blocking: { readonly threshold: Duration; readonly interval: Duration | undefined } | null
}

function resolve(options: ProfilingOptions): ResolvedProfilingOptions {
  const enabled = options.enabled ?? false
  if (enabled && (typeof options.adminToken !== 'string' || options.adminToken.length < 8)) {
    throw new TypeError(
      'profiling: "adminToken" must be a string of at least 8 characters when "enabled" is true ' +
        '(profiles are only ever taken for requests that present it).',
    )
  }
  const prefix = options.prefix ?? '/debug'
  if (!/^\/[\w\-/]*$/u.test(prefix) || prefix.endsWith('/')) {
    throw new TypeError(`profiling: "prefix" must look like "/debug", got ${JSON.stringify(prefix)}`)
  }
  const samplingIntervalUs = options.samplingIntervalUs ?? DEFAULT_SAMPLING_INTERVAL_US
  if (!Number.isInteger(samplingIntervalUs) || samplingIntervalUs < 1) {
    throw new TypeError(`profiling: "samplingIntervalUs" must be an integer >= 1, got ${samplingIntervalUs}`)
  }
  let nPlusOne: ResolvedProfilingOptions['nPlusOne'] = null
  if (options.nPlusOne !== false) {
    const threshold = options.nPlusOne?.threshold ?? DEFAULT_N_PLUS_ONE_THRESHOLD
    if (!Number.isInteger(threshold) || threshold < 1) {
      throw new TypeError(`profiling: "nPlusOne.threshold" must be an integer >= 1, got ${threshold}`)
    }
    nPlusOne = { threshold, header: options.nPlusOne?.header ?? process.env.NODE_ENV === 'development' }
  }
  return Object.freeze({
    enabled,
    adminToken: options.adminToken,
    prefix,
    samplingIntervalUs,
    maxRequestProfileMs: parseDuration(
      options.maxRequestProfile ?? DEFAULT_MAX_REQUEST_PROFILE_MS,
      'maxRequestProfile',
    ),
    maxProcessProfileMs: parseDuration(
      options.maxProcessProfile ?? DEFAULT_MAX_PROCESS_PROFILE_MS,
      'maxProcessProfile',
    ),
    slowQueryMs:
      options.slowQuery === false
        ? null
        : parseDuration(options.slowQuery?.threshold ?? DEFAULT_SLOW_QUERY_MS, 'slowQuery.threshold'),
    slowQueryRoutes: options.slowQuery === false || options.slowQuery?.routes !== false,
    nPlusOne,
    blocking:
      options.blocking === false
        ? null
        : {
            threshold: options.blocking?.threshold ?? DEFAULT_BLOCKING_THRESHOLD_MS,
            interval: options.blocking?.interval,
          },
  })
}

const activeProfiles = new WeakMap<FastifyRequest, { profile: RunningProfile; timer: NodeJS.Timeout }>()

function sendError(reply: FastifyReply, error: HotpathError): FastifyReply {
  return reply.code(error.statusCode ?? 400).send({ error: { code: error.code, message: error.message } })
}

function loggerOf(owner: unknown, fallback: FastifyBaseLogger): FastifyBaseLogger {
  return (owner as FastifyRequest | undefined)?.log ?? fallback
}

const plugin: FastifyPluginAsync<ProfilingOptions> = async (fastify, options) => {
  const resolved = resolve(options)
  const hooks = useRequestContext(fastify)
  // Slow-query routes and N+1 counts need to know which request a query belongs to.
  if ((resolved.slowQueryMs !== null && resolved.slowQueryRoutes) || resolved.nPlusOne !== null) {
    hooks.useAsyncContext()
  }

  if (resolved.slowQueryMs !== null) {
    const threshold = resolved.slowQueryMs
    const stop = watchQueries((event, context) => {
      if (event.durationMs < threshold) return
      loggerOf(context?.owner, fastify.log).warn(
        {
          sql: sqlShape(event.sql),
          durationMs: Math.round(event.durationMs * 1000) / 1000,
          dialect: event.dialect,
          route: context === undefined ? undefined : `${context.method} ${context.route}`,
        },
        'slow query',
      )
    })
    fastify.addHook('onClose', async () => stop())
  }

  if (resolved.nPlusOne !== null) {
    const { threshold, header } = resolved.nPlusOne
    hooks.trackQueryShapes()
    hooks.onSend.push((request, reply, context) => {
      if (context.queryShapes === null) return
      const findings = findNPlusOne(context.queryShapes, threshold)
      const worst = findings[0]
      if (worst === undefined) return
      const route = `${context.method} ${context.route}`
      request.log.warn({ route, shape: worst.shape, count: worst.count, findings }, 'N+1 query pattern')
      if (header) {
        const shape = worst.shape.replace(/[^\x20-\x7e]/gu, '?').slice(0, MAX_HEADER_SHAPE)
        reply.header(N_PLUS_ONE_HEADER, `${worst.count}x ${shape}`)
      }
    })
  }

  if (resolved.blocking !== null) {
    const detector = new BlockingDetector({
      threshold: resolved.blocking.threshold,
      interval: resolved.blocking.interval,
      onStall: (stall) =>
        fastify.log.warn({ delayMs: Math.round(stall.delayMs), routes: stall.routes }, 'event loop blocked'),
    })
    detector.start()
    fastify.addHook('onClose', async () => detector.stop())
  }

  if (!resolved.enabled) return
  const isAdmin = tokenChecker(resolved.adminToken!)
  const authorized = (request: FastifyRequest) => isAdmin(presentedToken(request, ADMIN_TOKEN_HEADER))
  const store = new ProfileStore({ dir: options.dir, maxProfiles: options.maxProfiles })

  // A second concurrent profile request gets 409 (before its handler runs, so it has no side
  // effects): a profile that silently did not happen is worse for the admin than a retry.
  // Callback-style hooks with a synchronous fast path: with profiling enabled these run on every
  // request, and an async hook would cost each one a promise.
  fastify.addHook('onRequest', (request, reply, done) => {
    const query = request.query as Record<string, unknown> | undefined
    if (query?.profile !== '1' && request.headers[PROFILE_REQUEST_HEADER] !== '1') return done()
    if (!authorized(request)) return done()
    // The switch is ours, not the route's: routes with strict query schemas must not see it.
    if (query !== undefined && 'profile' in query) delete query.profile
    if (isProfiling()) {
      sendError(reply.header('retry-after', '1'), new ProfilerBusyError())
      return
    }
    startCpuProfile(resolved.samplingIntervalUs).then(
      (profile) => {
        const timer = setTimeout(() => {
          activeProfiles.delete(request)
          void profile.stop().catch(() => undefined)
          request.log.warn(
            { maxMs: resolved.maxRequestProfileMs },
            'request profile cut off: response took too long',
          )
        }, resolved.maxRequestProfileMs)
        timer.unref()
        activeProfiles.set(request, { profile, timer })
        reply.raw.once('close', () => release(request, NOOP_DONE))
        done()
      },
      (error: unknown) => {
        if (error instanceof ProfilerBusyError) sendError(reply.header('retry-after', '1'), error)
        else done(error as Error)
      },
    )
  })

  fastify.addHook('onSend', (request, reply, payload, done) => {
    const active = activeProfiles.get(request)
    if (active === undefined) return done(null, payload)
    activeProfiles.delete(request)
    clearTimeout(active.timer)
    active.profile
      .stop()
      .then((profile) =>
        store.save(profile, {
          kind: 'request',
          method: request.method,
          route: request.routeOptions.url,
          url: request.url.split('?')[0],
          statusCode: reply.statusCode,
        }),
      )
      .then(
        (info) => {
          reply.header(PROFILE_ID_HEADER, info.id)
          done(null, payload)
        },
        (error: unknown) => {
          // The response itself is fine; losing its profile must not turn it into a 500.
          request.log.error({ err: error }, 'could not save the request CPU profile')
          done(null, payload)
        },
      )
  })

  // A request whose client went away before onSend still has to release the profiler.
  const release = (request: FastifyRequest, done: () => void) => {
    const active = activeProfiles.get(request)
    if (active !== undefined) {
      activeProfiles.delete(request)
      clearTimeout(active.timer)
      void active.profile.stop().catch(() => undefined)
    }
    done()
  }
  fastify.addHook('onResponse', (request, _reply, done) => release(request, done))
  // No onRequestAbort hook (it would add a 'close' listener to every request): only a profiled
  // request listens for its response closing without finishing (the client left).

  // Without the token the admin routes answer like any unknown URL.
  const adminOnly = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!authorized(request)) return reply.callNotFound()
  }
  const prefix = resolved.prefix

  fastify.get(`${prefix}/profiles`, { onRequest: adminOnly }, async () => ({ profiles: await store.list() }))

  fastify.get<{ Params: { id: string } }>(
    `${prefix}/profiles/:id`,
    { onRequest: adminOnly },
    async (request, reply) => {
      try {
        const body = await store.read(request.params.id)
        return reply
          .type('application/json')
          .header('content-disposition', `attachment; filename="${request.params.id}.cpuprofile"`)
          .send(body)
      } catch (error) {
        if (error instanceof HotpathError) return sendError(reply, error)
        throw error
      }
    },
  )

  fastify.get<{ Params: { id: string }; Querystring: { top?: string; format?: string } }>(
    `${prefix}/profiles/:id/summary`,
    { onRequest: adminOnly },
    async (request, reply) => {
      const top = Number(request.query.top ?? DEFAULT_SUMMARY_TOP)
      if (!Number.isInteger(top) || top < 1 || top > 500) {
        return reply
          .code(400)
          .send({ error: { code: 'E_INVALID_QUERY', message: '"top" must be an integer in 1..500' } })
      }
      try {
        const parsed: unknown = JSON.parse(await store.read(request.params.id))
        if (!isCpuProfile(parsed)) throw new Error(`saved profile ${request.params.id} is not a CPU profile`)
        const summary = summarizeProfile(parsed, { top })
        if (request.query.format === 'text')
          return reply.type('text/plain').send(formatProfileSummary(summary))
        return { info: await store.info(request.params.id), summary }
      } catch (error) {
        if (error instanceof HotpathError) return sendError(reply, error)
        throw error
      }
    },
  )

  fastify.post<{ Querystring: { duration?: string } }>(
    `${prefix}/profile`,
    { onRequest: adminOnly },
    async (request, reply) => {
      let durationMs: number
      try {
        durationMs = parseDuration(request.query.duration ?? DEFAULT_PROCESS_PROFILE_MS, 'duration')
      } catch (error) {
        if (error instanceof HotpathError) return sendError(reply, error)
        throw error
      }
      if (durationMs < 1 || durationMs > resolved.maxProcessProfileMs) {
        return reply.code(400).send({
          error: {
            code: 'E_INVALID_QUERY',
            message: `"duration" must be between 1ms and ${resolved.maxProcessProfileMs}ms (maxProcessProfile), got ${durationMs}ms`,
          },
        })
      }
      let profile: RunningProfile
      try {
        profile = await startCpuProfile(resolved.samplingIntervalUs)
      } catch (error) {
        if (error instanceof ProfilerBusyError) return sendError(reply.header('retry-after', '1'), error)
        throw error
      }
      await new Promise((done) => setTimeout(done, durationMs))
      const cpuProfile = await profile.stop()
      const info = await store.save(cpuProfile, { kind: 'process', durationMs })
      reply.header(PROFILE_ID_HEADER, info.id)
      return { info, summary: summarizeProfile(cpuProfile) }
    },
  )
}

/**
 * Fastify plugin for profiling and diagnosis: per-request CPU profiles for admins (`?profile=1` or
 * `X-Hotpath-Profile: 1` plus the admin token; a concurrent second one gets 409), the `/debug`
 * profile routes, the slow-query log, the N+1 detector and the event-loop blocking detector.
 *
 * @example
 * await app.register(profilingPlugin, { enabled: true, adminToken: process.env.HOTPATH_ADMIN_TOKEN })
 * // curl -H "Authorization: Bearer $HOTPATH_ADMIN_TOKEN" 'http://localhost:3000/items/1?profile=1' -D -
 * // x-hotpath-profile-id: 20261125T101500123Z-1a2b3c4d
 */
export const profilingPlugin = fp(plugin, { fastify: '5.x', name: 'hotpath-profiling' })

function NOOP_DONE(): void {}
