import type { FastifyPluginCallback } from 'fastify'
import fp from 'fastify-plugin'

import { presentedToken, tokenChecker } from './profiling/admin-token.js'
import { useRequestContext } from './profiling/request-context-hooks.js'
import { HotpathMetrics, type HotpathMetricsOptions } from '../profiling/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Hotpath metrics of this app (record cache events, add your own metrics to its registry). */
    hotpathMetrics: HotpathMetrics
  }
}

export interface MetricsOptions extends HotpathMetricsOptions {
  /**
   * Path of the Prometheus endpoint.
   * @default '/metrics'
   */
  path?: string
  /**
   * When set, scrapes must send `Authorization: Bearer <token>` (Prometheus `authorization` config).
   * @default undefined (open)
   */
  token?: string
  /**
   * An existing {@link HotpathMetrics} to serve instead of creating one from the other options.
   * @default undefined
   */
  metrics?: HotpathMetrics
  /**
   * Produce the exposition text served at `path` instead of this registry's own, e.g. metrics
   * merged across cluster workers. A rejection with a `statusCode` (503) is answered with it.
   * @default undefined (this process's registry)
   */
  source?: (metrics: HotpathMetrics) => Promise<string>
}

const plugin: FastifyPluginCallback<MetricsOptions> = (fastify, options, done) => {
  const path = options.path ?? '/metrics'
  if (typeof path !== 'string' || !path.startsWith('/')) {
    return done(new TypeError(`metrics: "path" must start with "/", got ${JSON.stringify(path)}`))
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token === '')) {
    return done(new TypeError('metrics: "token" must be a non-empty string'))
  }
  const owned = options.metrics === undefined
  const metrics = options.metrics ?? new HotpathMetrics(options)
  const isToken = options.token === undefined ? null : tokenChecker(options.token)
  fastify.decorate('hotpathMetrics', metrics)

  useRequestContext(fastify).onResponse.push((request, reply, context) => {
    metrics.observeHttp(
      request.method,
      context.route,
      reply.statusCode,
      (performance.now() - context.startedAt) / 1000,
    )
  })
  fastify.get(path, async (request, reply) => {
    if (isToken !== null && !isToken(presentedToken(request))) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="metrics"')
        .send({
          error: {
            code: 'E_METRICS_UNAUTHORIZED',
            message: 'Send the metrics token as "Authorization: Bearer <token>".',
          },
        })
    }
    const text = options.source ? await options.source(metrics) : await metrics.metrics()
    return reply.type(metrics.contentType).send(text)
  })
  if (owned)
    fastify.addHook('onClose', (_instance, next) => {
      metrics.close()
      next()
    })
  done()
}

/**
 * Fastify plugin: Prometheus metrics at `GET /metrics` from Hotpath's own prom-client registry
 * (HTTP durations by route/method/status, cache, loaders, write-behind, DB queries, pool,
 * event-loop delay, memory), optionally behind a bearer token.
 *
 * @example
 * await app.register(metricsPlugin, { token: process.env.METRICS_TOKEN, pool: () => poolStats() })
 */
export const metricsPlugin = fp(plugin, { fastify: '5.x', name: 'hotpath-metrics' })
