/** Default values of every cache option, in one place. */

/** Fresh lifetime of an entry. */
export const DEFAULT_TTL = 60_000
/** Grace period after `freshUntil` during which a stale entry may still be served. */
export const DEFAULT_GRACE = 0
/** Fraction of the TTL removed at random from each write so that keys written together do not expire together. */
export const DEFAULT_TTL_JITTER = 0.1
/** Global key prefix. */
export const DEFAULT_PREFIX = 'hp'
/** Application version prefix: bump it to start from an empty cache after an incompatible deploy. */
export const DEFAULT_APP_VERSION = 'v1'
/** Longest accepted raw key, in UTF-16 code units. Templates hash longer parts. */
export const DEFAULT_MAX_KEY_LENGTH = 1_024
/** Longest template component kept verbatim; longer ones are hashed. */
export const MAX_KEY_COMPONENT_LENGTH = 128

/** L1 byte budget (lru-cache `maxSize`). */
export const DEFAULT_L1_MAX_BYTES = 64 * 1024 * 1024
/** Entries estimated above this size are not kept in L1. */
export const DEFAULT_L1_MAX_ENTRY_BYTES = 1024 * 1024
/** Fixed per-entry overhead on top of key and value (record, entry, tags array, etag, LRU slots); measured so that calculated bytes ~ heap bytes. */
export const L1_ENTRY_OVERHEAD_BYTES = 400

/** Timeout of every Redis call. */
export const DEFAULT_L2_TIMEOUT = 500
/** Consecutive L2 failures that open the circuit breaker. */
export const DEFAULT_BREAKER_THRESHOLD = 5
/** How long the breaker stays open before letting one probe through. */
export const DEFAULT_BREAKER_DURATION = 2_000
/** Bound of node-redis' command queue: commands beyond it fail fast instead of piling up. */
export const DEFAULT_REDIS_QUEUE_MAX_LENGTH = 10_000
/** Connect timeout of the Redis sockets. */
export const DEFAULT_REDIS_CONNECT_TIMEOUT = 2_000
/** Longest delay between reconnect attempts. */
export const DEFAULT_REDIS_MAX_RECONNECT_DELAY = 1_000

/**
 * L1 is served fresh only while this instance received its own heartbeat through the coherence
 * channel less than this long ago. It is the documented staleness bound of L1.
 */
export const DEFAULT_L1_TRUST_TIMEOUT = 1_000
/** Heartbeats per trust window. */
export const HEARTBEATS_PER_TRUST_WINDOW = 4

/** Lifetime of a fill lease (and of the tombstone/revocation marker left by a delete). */
export const DEFAULT_LEASE_TTL = 10_000
/** How long a cold miss waits for another instance's fill before loading itself. */
export const DEFAULT_LEASE_WAIT = 2_000
/** Poll interval while waiting for another instance's fill (a coherence message wakes it earlier). */
export const DEFAULT_LEASE_POLL_INTERVAL = 25

/** Soft loader timeout: 0 disables it. */
export const DEFAULT_SOFT_TIMEOUT = 0
/** Hard loader timeout: 0 disables it. */
export const DEFAULT_HARD_TIMEOUT = 0

/** How long a tag invalidation timestamp is kept in Redis; keep it above your longest ttl + grace. */
export const DEFAULT_TAG_TTL = 7 * 24 * 3_600_000
/** Tag invalidation timestamps cached in-process. */
export const DEFAULT_TAG_CACHE_SIZE = 10_000
