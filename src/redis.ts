/**
 * `hotpath/redis`: the Redis tier. Importing it loads node-redis; a memory-only user never does.
 */
export * from './cache/stores/redis/index.js'
