/** The Redis tier (`hotpath/redis`): importing it loads node-redis; the memory tier never does. */
export { redisStore, RedisStore } from './redis-store.js'
export type { RedisStoreOptions, ResolvedRedisStoreOptions, RedisClientLike } from './redis-store.js'
