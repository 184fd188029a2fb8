/** Named defaults for every profiling and diagnosis option. */

/** Diagnostics channel the database layer publishes every executed query on. */
export const DB_QUERY_CHANNEL = 'hotpath:db:query'

/** Diagnostics channels the cache core publishes on (see `cache-events.ts`). */
export const CACHE_HIT_CHANNEL = 'hotpath:cache:hit'
export const CACHE_MISS_CHANNEL = 'hotpath:cache:miss'
export const CACHE_STALE_CHANNEL = 'hotpath:cache:stale'
export const CACHE_LOAD_CHANNEL = 'hotpath:cache:load'

/** Directory `.cpuprofile` files are written to. */
export const DEFAULT_PROFILE_DIR = '.profiles'
/** Profiles kept on disk; the oldest are deleted beyond this. */
export const DEFAULT_MAX_PROFILES = 50
/** V8 sampling interval in microseconds (V8's own default is 1000). */
export const DEFAULT_SAMPLING_INTERVAL_US = 100
/** A per-request profile is stopped after this long even if the response never completes. */
export const DEFAULT_MAX_REQUEST_PROFILE_MS = 30_000
/** Upper bound of `POST /debug/profile?duration=`. */
export const DEFAULT_MAX_PROCESS_PROFILE_MS = 300_000
/** Duration of `POST /debug/profile` when none is given. */
export const DEFAULT_PROCESS_PROFILE_MS = 10_000
/** Rows in a profile summary table. */
export const DEFAULT_SUMMARY_TOP = 15

/** Queries slower than this are logged. */
export const DEFAULT_SLOW_QUERY_MS = 100
/** A request running the same query shape more than this many times is reported as N+1. */
export const DEFAULT_N_PLUS_ONE_THRESHOLD = 10

/** Event-loop stalls longer than this are logged. */
export const DEFAULT_BLOCKING_THRESHOLD_MS = 100
/** How often the blocking detector's timer ticks. */
export const DEFAULT_BLOCKING_INTERVAL_MS = 20

/** Resolution of `monitorEventLoopDelay` in milliseconds. */
export const DEFAULT_EVENT_LOOP_RESOLUTION_MS = 10
/** HTTP duration histogram buckets, in seconds. */
export const DEFAULT_HTTP_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]
/** DB query and cache loader duration buckets, in seconds. */
export const DEFAULT_QUERY_BUCKETS = [
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
]
