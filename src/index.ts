/**
 * Hotpath: the public API. This file is curated by hand; what is not exported here is internal.
 * Subpaths: `hotpath/redis` (Redis tier), `hotpath/fastify` (plugins), `hotpath/stream`,
 * `hotpath/profiling`, `hotpath/bench`.
 */
export * from './errors.js'
export { parseDuration, type Duration } from './util/duration.js'
export * from './cache/index.js'
export {
  parseETag,
  formatETag,
  parseETagList,
  strongMatch,
  weakMatch,
  etagForCoding,
  parseHttpDate,
  formatHttpDate,
  evaluatePreconditions,
  resolveCacheControlPolicy,
  formatCacheControl,
  isStorable,
  parseVary,
  mergeVary,
  normalizeUrl,
  negotiateEncoding,
  negotiateFormat,
  compressVariants,
  ResponseCache,
  createFastLane,
  FAST_LANE_HIT_CHANNEL,
  DEFAULT_UNKEYED_HEADERS,
  type EntityTag,
  type ConditionalHeaders,
  type Validators,
  type PreconditionResult,
  type CacheControlPolicy,
  type ResponseCacheOptions,
  type StoredResponse,
  type FastLaneHandler,
} from './http/index.js'
export { createWriteThrough, WriteThrough } from './cache/strategies/write-through.js'
export type { WriteThroughEvents, WriteThroughOptions } from './cache/strategies/write-through.js'
export type { VersionedDelete, WriteBatch, WriteId, WriteRepository } from './cache/strategies/repository.js'
export * from './upstream/index.js'
