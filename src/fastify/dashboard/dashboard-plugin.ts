import type { ServerResponse } from 'node:http'

import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

import { dashboardAssetLocations } from './dashboard-assets.js'
import { dashboardAuth } from './dashboard-auth.js'
import { DASHBOARD_CSP, renderDashboardPage } from './dashboard-page.js'
import { DashboardSampler, type DashboardSample } from './dashboard-sampler.js'
import { RecentFindings } from './recent-findings.js'
import { prepareAssets, staticAssets } from '../static-assets.js'
import { useRequestContext } from '../profiling/request-context-hooks.js'
import type { HotpathMetrics, WriteBehindStats } from '../../profiling/metrics.js'
import { DEFAULT_N_PLUS_ONE_THRESHOLD, DEFAULT_SLOW_QUERY_MS } from '../../profiling/defaults.js'
import { findNPlusOne } from '../../profiling/n-plus-one.js'
import { watchQueries } from '../../profiling/query-watcher.js'
import { sqlShape } from '../../profiling/sql-shape.js'
import { parseDuration, type Duration } from '../../util/duration.js'

/** Default URL prefix of the dashboard. */
export const DEFAULT_DASHBOARD_PREFIX = '/_hotpath'
/** Default time between two samples pushed to the dashboard. */
export const DEFAULT_DASHBOARD_INTERVAL_MS = 1_000
/** Default time between two SSE heartbeat comments. */
export const DEFAULT_DASHBOARD_HEARTBEAT_MS = 15_000
/** Slow queries and N+1 warnings the dashboard remembers. */
export const DEFAULT_DASHBOARD_RECENT = 20
/** How often the list of saved CPU profiles is refreshed while someone watches. */
const PROFILES_REFRESH_MS = 5_000
/** A client whose socket buffers more than this is too slow to follow and is disconnected. */
const MAX_CLIENT_BUFFER_BYTES = 1024 * 1024

declare module 'fastify' {
  interface FastifyInstance {
    /** State of the Hotpath dashboard (connected clients, whether it samples). */
    hotpathDashboard: DashboardState
  }
}

export interface DashboardState {
  /** Connected event-stream clients. */
  readonly clients: number
  /** Whether the sampling (and heartbeat) timers run: only while a client is connected. */
  readonly sampling: boolean
}

export interface DashboardOptions {
  /** Admin token (at least 8 characters): `Authorization: Bearer`, `X-Hotpath-Admin-Token` or `?token=` once. */
  adminToken: string
  /**
   * URL prefix of the dashboard (page at `<prefix>/`, events at `<prefix>/events`, assets at `<prefix>/assets/`).
   * @default '/_hotpath'
   */
  prefix?: string
  /**
   * Metrics to read (HTTP, cache, loader figures).
   * @default the metrics plugin's `app.hotpathMetrics` (figures are empty without one)
   */
  metrics?: HotpathMetrics
  /**
   * Write-behind queue stats.
   * @default `app.writeBehind.stats()` when the app has a write-behind queue
   */
  writeBehind?: () => Promise<WriteBehindStats>
  /**
   * Prefix of the profiling plugin's admin routes, whose profile list and downloads the dashboard
   * shows (it calls them with `adminToken`); `false` hides profiles.
   * @default '/debug'
   */
  profilesPrefix?: string | false
  /**
   * Queries at or above this duration are listed as slow; `false` lists none.
   * @default '100ms'
   */
  slowQuery?: Duration | false
  /**
   * A request running one query shape more than this many times is listed as N+1 (needs the
   * profiling plugin's N+1 detector, which counts the shapes, registered before the dashboard).
   * @default 10
   */
  nPlusOneThreshold?: number
  /**
   * Time between two samples.
   * @default '1s'
   */
  interval?: Duration
  /**
   * Time between two SSE heartbeat comments.
   * @default '15s'
   */
  heartbeat?: Duration
  /**
   * Build output directory of the dashboard's assets (built there at registration when the sources
   * are present).
   * @default '<hotpath package>/dist/assets/dashboard'
   */
  assetsDir?: string
}

interface Client {
  readonly raw: ServerResponse
}

function unauthorized(reply: FastifyReply, prefix: string): FastifyReply {
  return reply
    .code(401)
    .header('www-authenticate', 'Bearer realm="hotpath"')
    .header('cache-control', 'no-store')
    .send({
      error: {
        code: 'E_DASHBOARD_UNAUTHORIZED',
        message: `Open ${prefix}/?token=<admin token> once (it sets a session cookie) or send "Authorization: Bearer <admin token>".`,
      },
    })
}

function writeEvent(client: Client, event: string, data: unknown): void {
  const raw = client.raw
  if (raw.destroyed || raw.writableEnded) return
  if (raw.writableLength > MAX_CLIENT_BUFFER_BYTES) {
    raw.destroy()
    return
  }
  raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
}

const plugin: FastifyPluginAsync<DashboardOptions> = async (fastify, options) => {
  if (typeof options.adminToken !== 'string' || options.adminToken.length < 8) {
    throw new TypeError('dashboard: "adminToken" must be a string of at least 8 characters')
  }
  const prefix = options.prefix ?? DEFAULT_DASHBOARD_PREFIX
  if (!/^\/[\w\-/]*$/u.test(prefix) || prefix.endsWith('/')) {
    throw new TypeError(`dashboard: "prefix" must look like "/_hotpath", got ${JSON.stringify(prefix)}`)
  }
  const profilesPrefix = options.profilesPrefix ?? '/debug'
  if (profilesPrefix !== false && (!profilesPrefix.startsWith('/') || profilesPrefix.endsWith('/'))) {
    throw new TypeError(
      `dashboard: "profilesPrefix" must look like "/debug" or be false, got ${JSON.stringify(profilesPrefix)}`,
    )
  }
  const nPlusOneThreshold = options.nPlusOneThreshold ?? DEFAULT_N_PLUS_ONE_THRESHOLD
  if (!Number.isInteger(nPlusOneThreshold) || nPlusOneThreshold < 1) {
    throw new TypeError(`dashboard: "nPlusOneThreshold" must be an integer >= 1, got ${nPlusOneThreshold}`)
  }
  const intervalMs = parseDuration(options.interval ?? DEFAULT_DASHBOARD_INTERVAL_MS, 'interval')
  const heartbeatMs = parseDuration(options.heartbeat ?? DEFAULT_DASHBOARD_HEARTBEAT_MS, 'heartbeat')
  if (intervalMs < 10 || heartbeatMs < 10) {
    throw new TypeError('dashboard: "interval" and "heartbeat" must be at least 10ms')
  }
  const slowQueryMs =
    options.slowQuery === false
      ? null
      : parseDuration(options.slowQuery ?? DEFAULT_SLOW_QUERY_MS, 'slowQuery')

  const auth = dashboardAuth(options.adminToken)
  const locations = dashboardAssetLocations(options.assetsDir)
  const manifest = await prepareAssets(locations.root, locations.sources)
  const page = renderDashboardPage(manifest)
  const recent = new RecentFindings(DEFAULT_DASHBOARD_RECENT)

  // Findings are recorded whether or not someone watches ("recent" must mean recent), but they
  // cost nothing per request: one comparison per database query, and a listener on the N+1
  // detector's shape counts only when that detector already pays for them.
  if (slowQueryMs !== null) {
    const stop = watchQueries((event, context) => {
      if (event.durationMs < slowQueryMs) return
      recent.addSlowQuery({
        at: Date.now(),
        sql: sqlShape(event.sql),
        durationMs: Math.round(event.durationMs * 1000) / 1000,
        dialect: event.dialect,
        route: context === undefined ? undefined : `${context.method} ${context.route}`,
      })
    })
    fastify.addHook('onClose', async () => stop())
  }
  if (fastify.hasDecorator('hotpathDiagnostics')) {
    useRequestContext(fastify).onSend.push((_request, _reply, context) => {
      if (context.queryShapes === null) return
      const worst = findNPlusOne(context.queryShapes, nPlusOneThreshold)[0]
      if (worst === undefined) return
      recent.addNPlusOne({
        at: Date.now(),
        route: `${context.method} ${context.route}`,
        shape: worst.shape,
        count: worst.count,
      })
    })
  }

  const metricsOf = (instance: FastifyInstance) =>
    options.metrics ?? (instance.hasDecorator('hotpathMetrics') ? instance.hotpathMetrics : undefined)
  const writeBehindOf = () => {
    if (options.writeBehind !== undefined) return options.writeBehind
    const queue = (fastify as unknown as { writeBehind?: { stats(): Promise<WriteBehindStats> } }).writeBehind
    return queue === undefined ? undefined : () => queue.stats()
  }

  const clients = new Set<Client>()
  let recentVersion = -1
  let profilesJson: string | null = null
  let lastProfilesAt = 0
  let heartbeat: NodeJS.Timeout | null = null

  const broadcast = (event: string, data: unknown) => {
    for (const client of clients) writeEvent(client, event, data)
  }
  const refreshProfiles = async (): Promise<void> => {
    if (profilesPrefix === false) return
    lastProfilesAt = Date.now()
    const url = `${profilesPrefix}/profiles`
    if (!fastify.hasRoute({ method: 'GET', url })) return
    // The profiling plugin's own route answers (same store, same validation); the admin token opens it.
    const response = await fastify.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${options.adminToken}` },
    })
    if (response.statusCode !== 200) return
    const json = JSON.stringify((response.json() as { profiles?: unknown }).profiles ?? [])
    if (json === profilesJson) return
    profilesJson = json
    broadcast('profiles', JSON.parse(json))
  }
  const onSample = (sample: DashboardSample) => {
    broadcast('sample', sample)
    if (recent.version !== recentVersion) {
      recentVersion = recent.version
      broadcast('findings', recent.snapshot())
    }
    if (Date.now() - lastProfilesAt >= PROFILES_REFRESH_MS) {
      refreshProfiles().catch((error: unknown) => fastify.log.warn({ err: error }, 'dashboard: profile list'))
    }
  }
  const sampler = new DashboardSampler({
    registry: () => metricsOf(fastify)?.registry,
    writeBehind: writeBehindOf,
    excludeRoutePrefixes: profilesPrefix === false ? [prefix] : [prefix, profilesPrefix],
    intervalMs,
    writeBehindTimeoutMs: Math.min(intervalMs, 500),
    onSample,
  })

  const connect = (client: Client) => {
    clients.add(client)
    writeEvent(client, 'hello', {
      intervalMs,
      metrics: metricsOf(fastify) !== undefined,
      writeBehind: writeBehindOf() !== undefined,
      profiles: profilesPrefix !== false,
      slowQueryMs,
      nPlusOneThreshold,
    })
    writeEvent(client, 'findings', recent.snapshot())
    if (profilesJson !== null) writeEvent(client, 'profiles', JSON.parse(profilesJson))
    if (clients.size === 1) {
      sampler.start()
      heartbeat = setInterval(() => {
        for (const each of clients) if (!each.raw.destroyed) each.raw.write(': heartbeat\n\n')
      }, heartbeatMs)
      heartbeat.unref()
    }
    refreshProfiles().catch((error: unknown) => fastify.log.warn({ err: error }, 'dashboard: profile list'))
  }
  const disconnect = (client: Client) => {
    if (!clients.delete(client)) return
    if (clients.size === 0) {
      sampler.stop()
      if (heartbeat !== null) clearInterval(heartbeat)
      heartbeat = null
    }
  }

  fastify.decorate('hotpathDashboard', {
    get clients() {
      return clients.size
    },
    get sampling() {
      return sampler.running
    },
  } satisfies DashboardState)

  // Open event streams would keep `app.close()` waiting for their sockets.
  fastify.addHook('preClose', (done) => {
    for (const client of [...clients]) {
      disconnect(client)
      client.raw.end()
    }
    done()
  })

  const pageHeaders = {
    'cache-control': 'private, no-cache',
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  }

  fastify.get(prefix, (request, reply) => {
    const query = request.url.indexOf('?')
    return reply.redirect(`${prefix}/${query === -1 ? '' : request.url.slice(query)}`, 308)
  })

  fastify.get<{ Querystring: { token?: string } }>(`${prefix}/`, (request, reply) => {
    const token = (request.query as { token?: unknown } | undefined)?.token
    if (token !== undefined) {
      if (typeof token !== 'string' || !auth.isToken(token)) return unauthorized(reply, prefix)
      // The token leaves the address bar (and the history) at once; the cookie carries the session.
      auth.setCookie(request, reply, `${prefix}/`)
      return reply.header('cache-control', 'no-store').redirect(`${prefix}/`, 303)
    }
    if (!auth.authorized(request)) return unauthorized(reply, prefix)
    return reply.headers(pageHeaders).type('text/html; charset=utf-8').send(page)
  })

  fastify.get(`${prefix}/events`, (request: FastifyRequest, reply: FastifyReply) => {
    if (!auth.authorized(request)) return unauthorized(reply, prefix)
    reply.hijack()
    const raw = reply.raw
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    })
    raw.write(`retry: ${Math.max(intervalMs, 1_000)}\n\n`)
    const client: Client = { raw }
    const socket = raw.socket
    raw.on('close', () => {
      disconnect(client)
      // A response that never ended keeps the half-closed socket (and `app.close()`) waiting.
      socket?.destroy()
    })
    connect(client)
  })

  if (profilesPrefix !== false) {
    fastify.get<{ Params: { id: string } }>(`${prefix}/profiles/:id`, async (request, reply) => {
      if (!auth.authorized(request)) return unauthorized(reply, prefix)
      if (!fastify.hasRoute({ method: 'GET', url: `${profilesPrefix}/profiles/:id` })) {
        return reply.code(404).send({
          error: { code: 'E_PROFILING_DISABLED', message: 'CPU profiles are not enabled on this server.' },
        })
      }
      // Served by the profiling plugin's download route, which validates the id.
      const response = await fastify.inject({
        method: 'GET',
        url: `${profilesPrefix}/profiles/${encodeURIComponent(request.params.id)}`,
        headers: { authorization: `Bearer ${options.adminToken}` },
      })
      for (const name of ['content-type', 'content-disposition'] as const) {
        const value = response.headers[name]
        if (typeof value === 'string') reply.header(name, value)
      }
      return reply
        .code(response.statusCode)
        .header('cache-control', 'private, no-store')
        .send(response.rawPayload)
    })
  }

  await fastify.register(staticAssets, { root: locations.root, prefix: `${prefix}/assets/` })
}

/**
 * Fastify plugin: a live operations dashboard at `/_hotpath/` for admins: requests/s, latency
 * percentiles, cache hit ratio by tier and namespace, stale served, loader time, write-behind
 * pending and lag, event-loop delay, heap/RSS, recent slow queries and N+1 warnings, and the saved
 * CPU profiles with download links. Figures are pushed once per second over Server-Sent Events
 * (`<prefix>/events`), sampled only while a dashboard is open; charts are drawn by uPlot, served
 * from the app (no CDN). Register it after the metrics plugin (and the profiling plugin).
 *
 * A browser logs in once with `<prefix>/?token=<admin token>`, which sets an HttpOnly,
 * SameSite=Strict session cookie and redirects to the page; scripts send `Authorization: Bearer`.
 *
 * @example
 * await app.register(metricsPlugin)
 * await app.register(profilingPlugin, { enabled: true, adminToken })
 * await app.register(dashboardPlugin, { adminToken })
 * // open http://localhost:3000/_hotpath/?token=<adminToken>
 */
export const dashboardPlugin = fp(plugin, { fastify: '5.x', name: 'hotpath-dashboard' })
