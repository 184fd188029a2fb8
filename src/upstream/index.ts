/** The upstream client: pooled keep-alive HTTP (undici) with cached, conditionally revalidated GETs. */
export {
  createUpstreamClient,
  resolveUpstreamClientOptions,
  UpstreamClient,
  type ResolvedUpstreamClientOptions,
  type UpstreamClientOptions,
  type UpstreamResponse,
  type UpstreamSource,
} from './upstream-client.js'
export {
  conditionalHeaders,
  parseResponseCacheControl,
  responseFreshness,
  type Freshness,
  type FreshnessHeaders,
  type ResponseCacheDirectives,
  type StoredValidators,
} from './freshness.js'
export {
  UpstreamResponseTooLargeError,
  UpstreamStatusError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  type UpstreamTimeoutPhase,
} from './upstream-errors.js'
export * from './defaults.js'
