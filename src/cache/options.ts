import { InvalidOptionError } from '../errors.js'
import { parseDuration, type Duration } from '../util/duration.js'
import type { Codec } from './codec/codec.js'
import { msgpackCodec } from './codec/msgpack-codec.js'
import {
  DEFAULT_APP_VERSION,
  DEFAULT_GRACE,
  DEFAULT_HARD_TIMEOUT,
  DEFAULT_L1_TRUST_TIMEOUT,
  DEFAULT_LEASE_POLL_INTERVAL,
  DEFAULT_LEASE_TTL,
  DEFAULT_LEASE_WAIT,
  DEFAULT_MAX_KEY_LENGTH,
  DEFAULT_PREFIX,
  DEFAULT_SOFT_TIMEOUT,
  DEFAULT_TAG_TTL,
  DEFAULT_TTL,
  DEFAULT_TTL_JITTER,
} from './defaults.js'
import {
  memoryStore,
  type MemoryStore,
  type ResolvedMemoryStoreOptions,
} from './stores/memory/memory-store.js'
import type { RedisStore, ResolvedRedisStoreOptions } from './stores/redis/redis-store.js'
import type { StoreFactory } from './stores/store.js'

export interface CacheOptions {
  /** The in-process tier, or `false` for an L2-only cache. @default memoryStore() (64 MiB) */
  l1?: StoreFactory<MemoryStore, ResolvedMemoryStoreOptions> | false
  /** The shared tier (`redisStore()` from `hotpath/redis`); none for an L1-only cache. @default undefined */
  l2?: StoreFactory<RedisStore, ResolvedRedisStoreOptions>
  /** Global key prefix. @default 'hp' */
  prefix?: string
  /** Application version prefix; bump it to start from an empty cache after an incompatible change. @default 'v1' */
  appVersion?: string
  /** Fresh lifetime of entries. @default 60000 (1 minute) */
  ttl?: Duration
  /** Grace period after expiry during which a stale entry is served while it is refreshed. @default 0 */
  grace?: Duration
  /** Fraction of the ttl removed at random per write (0 disables jitter). @default 0.1 */
  ttlJitter?: number
  /** `getOrSet` returns the stale value after this long while the loader goes on (0 disables). @default 0 */
  softTimeout?: Duration
  /** `getOrSet` rejects after this long and the loader result is discarded (0 disables). @default 0 */
  hardTimeout?: Duration
  /** Lifetime of a fill lease; a loader slower than this no longer holds it. @default 10000 */
  leaseTtl?: Duration
  /** How long a cold miss waits for another instance's fill before loading itself. @default 2000 */
  leaseWait?: Duration
  /** Poll interval while waiting for another instance's fill. @default 25 */
  leasePollInterval?: Duration
  /**
   * The staleness bound of L1 across instances. Every write, delete, namespace bump and tag
   * invalidation publishes its coherence message atomically with the Redis write (same Lua script
   * or pipeline). Each instance publishes its own heartbeat every `l1TrustTimeout / 4` and serves
   * L1 fresh only until `heartbeat sent-at + l1TrustTimeout` of the last heartbeat it received back
   * (pub/sub delivers in order, so every message published before that heartbeat was received).
   * A dropped subscriber stops trust at once; the next heartbeat resynchronises (new epoch:
   * every older L1 record is re-read from Redis). Hence: **an instance never serves from L1 a value
   * superseded by a change that reached Redis more than `l1TrustTimeout` ago** (1 s by default;
   * in practice it is the pub/sub latency, ~1 ms on a LAN). Tested in
   * `tests/integration/cache/multi-instance.test.ts` and `faults.test.ts`.
   * @default 1000
   */
  l1TrustTimeout?: Duration
  /** How long tag invalidation times are kept in Redis (above your longest ttl + grace). @default 7 days */
  tagTtl?: Duration
  /** Longest raw key. @default 1024 */
  maxKeyLength?: number
  /** Codec used for etags when there is no shared tier (the shared tier uses its own). @default msgpackCodec() */
  codec?: Codec
}

export interface ResolvedCacheOptions {
  readonly l1: StoreFactory<MemoryStore, ResolvedMemoryStoreOptions> | undefined
  readonly l2: StoreFactory<RedisStore, ResolvedRedisStoreOptions> | undefined
  readonly prefix: string
  readonly appVersion: string
  readonly ttl: number
  readonly grace: number
  readonly ttlJitter: number
  readonly softTimeout: number
  readonly hardTimeout: number
  readonly leaseTtl: number
  readonly leaseWait: number
  readonly leasePollInterval: number
  readonly l1TrustTimeout: number
  readonly tagTtl: number
  readonly maxKeyLength: number
  readonly codec: Codec
}

const PREFIX_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/

function factoryOption(option: string, value: unknown): void {
  if (
    value !== undefined &&
    (typeof value !== 'object' ||
      value === null ||
      typeof (value as { factory?: unknown }).factory !== 'function')
  ) {
    throw new InvalidOptionError(
      option,
      value,
      `a store factory such as ${option === 'l1' ? 'memoryStore()' : 'redisStore()'}`,
    )
  }
}

/** Resolve and validate cache options once into a frozen object. */
export function resolveCacheOptions(options: CacheOptions = {}): ResolvedCacheOptions {
  if (options.l1 !== false) factoryOption('l1', options.l1)
  factoryOption('l2', options.l2)
  if (options.l1 === false && options.l2 === undefined) {
    throw new InvalidOptionError(
      'l1',
      false,
      'a memory tier when there is no l2 (a cache needs at least one tier)',
    )
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX
  if (!PREFIX_PATTERN.test(prefix))
    throw new InvalidOptionError('prefix', prefix, '1-64 characters among A-Z a-z 0-9 _ . -')
  const appVersion = options.appVersion ?? DEFAULT_APP_VERSION
  if (!PREFIX_PATTERN.test(appVersion)) {
    throw new InvalidOptionError('appVersion', appVersion, '1-64 characters among A-Z a-z 0-9 _ . -')
  }
  const ttlJitter = options.ttlJitter ?? DEFAULT_TTL_JITTER
  if (typeof ttlJitter !== 'number' || !(ttlJitter >= 0 && ttlJitter < 1)) {
    throw new InvalidOptionError('ttlJitter', ttlJitter, 'a number in [0, 1)')
  }
  const maxKeyLength = options.maxKeyLength ?? DEFAULT_MAX_KEY_LENGTH
  if (!Number.isInteger(maxKeyLength) || maxKeyLength < 1) {
    throw new InvalidOptionError('maxKeyLength', maxKeyLength, 'a positive integer')
  }
  const l1TrustTimeout = parseDuration(options.l1TrustTimeout ?? DEFAULT_L1_TRUST_TIMEOUT, 'l1TrustTimeout')
  if (l1TrustTimeout < 40)
    throw new InvalidOptionError('l1TrustTimeout', options.l1TrustTimeout, 'at least 40 ms')
  return Object.freeze({
    l1: options.l1 === false ? undefined : (options.l1 ?? memoryStore()),
    l2: options.l2,
    prefix,
    appVersion,
    ttl: parseDuration(options.ttl ?? DEFAULT_TTL, 'ttl'),
    grace: parseDuration(options.grace ?? DEFAULT_GRACE, 'grace'),
    ttlJitter,
    softTimeout: parseDuration(options.softTimeout ?? DEFAULT_SOFT_TIMEOUT, 'softTimeout'),
    hardTimeout: parseDuration(options.hardTimeout ?? DEFAULT_HARD_TIMEOUT, 'hardTimeout'),
    leaseTtl: parseDuration(
      options.leaseTtl ?? options.l2?.options.leaseTtl ?? DEFAULT_LEASE_TTL,
      'leaseTtl',
    ),
    leaseWait: parseDuration(options.leaseWait ?? DEFAULT_LEASE_WAIT, 'leaseWait'),
    leasePollInterval: Math.max(
      1,
      parseDuration(options.leasePollInterval ?? DEFAULT_LEASE_POLL_INTERVAL, 'leasePollInterval'),
    ),
    l1TrustTimeout,
    tagTtl: parseDuration(options.tagTtl ?? DEFAULT_TAG_TTL, 'tagTtl'),
    maxKeyLength,
    codec: options.codec ?? msgpackCodec(),
  })
}
