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
export { sendableSerialization } from './sendable-serialization.js'
export { serverTimingPlugin, serverTiming, type ServerTimingOptions } from './server-timing.js'
export {
  dashboardPlugin,
  type DashboardOptions,
  type DashboardState,
  DEFAULT_DASHBOARD_PREFIX,
} from './dashboard/dashboard-plugin.js'
export type { DashboardSample } from './dashboard/dashboard-sampler.js'
export {
  staticAssets,
  prepareAssets,
  type StaticAssetsOptions,
  IMMUTABLE_CACHE_CONTROL,
} from './static-assets.js'
export {
  buildAssets,
  readAssetManifest,
  isHashedName,
  type AssetManifest,
  type AssetSource,
  type BuildAssetsOptions,
} from '../static/build-assets.js'
