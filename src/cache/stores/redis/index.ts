/** The Redis tier (`hotpath/redis`): importing it loads node-redis; the memory tier never does. */
export { redisStore, RedisStore } from './redis-store.js'
export type { RedisStoreOptions, ResolvedRedisStoreOptions, RedisClientLike } from './redis-store.js'
export {
  createRedisConnection,
  parseRedisUrl,
  resolveRedisConnectionOptions,
  toRedisConnection,
} from './redis-connection.js'
export type {
  RedisConnection,
  RedisConnectionOptions,
  RedisTarget,
  RedisTlsOptions,
  ResolvedRedisConnectionOptions,
} from './redis-connection.js'
export { ClusterClient } from './cluster-client.js'
export { SentinelClient } from './sentinel-client.js'
export { DEFAULT_ACL_GROUPS, HOTPATH_REDIS_COMMANDS, hotpathAclRules } from './acl.js'
export type { HotpathCommandGroup } from './acl.js'
export { keySlot } from './key-slot.js'
