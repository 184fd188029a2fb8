/**
 * `hotpath/redis`: the Redis tier and write-behind (a Redis Stream). Importing it loads node-redis;
 * a memory-only user never does.
 */
export * from './cache/stores/redis/index.js'
export * from './cache/strategies/index.js'
