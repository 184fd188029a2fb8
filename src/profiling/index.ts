/**
 * `hotpath/profiling`: framework-free profiling and diagnosis. CPU profiles and their summaries,
 * per-request context with Server-Timing entries, slow-query and N+1 detection on the
 * `hotpath:db:query` channel, an event-loop blocking detector and Prometheus metrics.
 * The Fastify adapters live in `hotpath/fastify`.
 */
export {
  summarizeProfile,
  formatProfileSummary,
  isCpuProfile,
  type CpuProfile,
  type CpuProfileNode,
  type FunctionTime,
  type ProfileSummary,
  type SummarizeOptions,
} from './cpu-profile.js'
export { startCpuProfile, isProfiling, type RunningProfile } from './cpu-profiler.js'
export { remapSourcePositions } from './source-positions.js'
export { ProfileStore, isProfileId, type ProfileInfo, type ProfileStoreOptions } from './profile-store.js'
export {
  RequestContext,
  runWithRequestContext,
  endRequestContext,
  currentRequestContext,
  recordTiming,
  activeRequestContexts,
} from './request-context.js'
export { formatServerTiming, parseServerTiming, type TimingEntry } from './server-timing.js'
export { sqlShape, sqlOperation } from './sql-shape.js'
export { publishDbQuery, dbQueryChannel, type DbQueryEvent } from './db-query-event.js'
export { watchQueries } from './query-watcher.js'
export { findNPlusOne, type NPlusOneFinding } from './n-plus-one.js'
export { BlockingDetector, type BlockingDetectorOptions, type EventLoopStall } from './blocking-detector.js'
export {
  HotpathMetrics,
  cacheStatsSource,
  type CacheStatsProvider,
  type HotpathMetricsOptions,
  type CacheStatsSnapshot,
  type CacheEventMessage,
  type WriteBehindStats,
  type PoolStats,
} from './metrics.js'
export * from './defaults.js'
