/**
 * Framework-free HTTP caching (RFC 9110 / 9111): entity tags and conditional requests, HTTP-dates,
 * Cache-Control policies, Vary, URL normalisation for cache keys, content negotiation,
 * pre-compression, the response cache and its fast lane. Curated by hand: what is not exported
 * here is internal. The Fastify adapter is `httpCache` in `src/fastify/http-cache.ts`.
 */
export { parseETag, formatETag, parseETagList, strongMatch, weakMatch, etagForCoding } from './etag.js'
export type { EntityTag, EntityTagList, ContentCoding } from './etag.js'
export { parseHttpDate, formatHttpDate } from './http-date.js'
export { evaluatePreconditions, selectCodingForRevalidation } from './preconditions.js'
export type { ConditionalHeaders, Validators, PreconditionResult } from './preconditions.js'
export { resolveCacheControlPolicy, formatCacheControl, isStorable } from './cache-control.js'
export type {
  CacheControlPolicy,
  ResolvedCacheControlPolicy,
  FormatCacheControlOptions,
} from './cache-control.js'
export { parseVary, mergeVary, varyKey } from './vary.js'
export { normalizeUrl, normalizePath } from './normalize-url.js'
export type { QueryRules, NormalizeUrlOptions, NormalizedUrl, RejectedUrl } from './normalize-url.js'
export { negotiateEncoding, negotiateFormat, MSGPACK_CONTENT_TYPE, JSON_CONTENT_TYPE } from './negotiation.js'
export type { ResponseFormat } from './negotiation.js'
export {
  compressVariants,
  compressSync,
  compressesOnDemand,
  isCompressible,
  DEFAULT_COMPRESSION_THRESHOLD,
  DEFAULT_BROTLI_QUALITY,
  DEFAULT_MIN_SAVING,
} from './compression.js'
export type { CompressionOptions, CompressedVariants } from './compression.js'
export { answerFromStored, rawAnswerFromStored, hashETag, storedSize } from './stored-response.js'
export type { StoredResponse, PreparedAnswer, RawAnswer, AnswerRequest } from './stored-response.js'
export {
  ResponseCache,
  DEFAULT_UNKEYED_HEADERS,
  DEFAULT_NAMESPACE,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_FAST_LANE_PATHS,
  FAST_LANE_HIT_CHANNEL,
} from './response-cache.js'
export type {
  ResponseCacheOptions,
  ResolvedResponseCacheOptions,
  CacheKeyParts,
  RouteKeyInfo,
  StoreInput,
  StoreWrite,
  LookupResult,
  ResponseCacheStats,
} from './response-cache.js'
export { sendableBody } from './send-body.js'
export { createFastLane } from './fast-lane.js'
export type { FastLaneHandler } from './fast-lane.js'
