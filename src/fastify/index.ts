/**
 * `hotpath/fastify`: thin Fastify 5 adapters over the framework-free layers. Curated by hand.
 */
export {
  httpCache,
  type HttpCacheOptions,
  type HttpCacheRouteOptions,
  type HttpCacheApi,
} from './http-cache.js'
export {
  profilingPlugin,
  type ProfilingOptions,
  PROFILE_ID_HEADER,
  PROFILE_REQUEST_HEADER,
  N_PLUS_ONE_HEADER,
} from './profiling.js'
export { metricsPlugin, type MetricsOptions } from './metrics.js'
export { serverTimingPlugin, serverTiming, type ServerTimingOptions } from './server-timing.js'
