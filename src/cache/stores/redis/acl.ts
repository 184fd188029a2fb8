/**
 * Every Redis command Hotpath issues, by feature, so that operators can grant a minimal ACL user
 * (docs/redis.md). Commands called inside Hotpath's Lua scripts are listed too: Redis checks
 * them against the user's ACL like direct calls. The integration suite runs the cache and
 * write-behind as a user granted exactly {@link hotpathAclRules}'s commands.
 */
export const HOTPATH_REDIS_COMMANDS = Object.freeze({
  /** The cache's shared tier: reads, version-checked writes, deletes, leases, generations, tags. */
  cache: Object.freeze(['get', 'mget', 'set', 'getrange', 'del', 'incr', 'evalsha', 'eval']),
  /** Coherence between instances: every change and heartbeat published, one subscriber per cache. */
  coherence: Object.freeze(['publish', 'subscribe']),
  /** Write-behind: the stream, its consumer group, the pending map, versions and dead letters. */
  writeBehind: Object.freeze([
    'xadd',
    'xack',
    'xdel',
    'xlen',
    'xrange',
    'xreadgroup',
    'xautoclaim',
    'xclaim',
    'xgroup|create',
    'hget',
    'hmget',
    'hset',
    'hdel',
    'evalsha',
    'eval',
  ]),
  /** Redis Cluster: topology discovery by node-redis. */
  cluster: Object.freeze(['cluster|slots']),
  /** Only with the matching write-behind options: `waitReplicas` (WAIT), `waitAof` (INFO, WAITAOF). */
  durability: Object.freeze(['wait', 'waitaof', 'info']),
  /** The reference service's Redis-backed rate limiter (a Lua INCR + PEXPIRE window). */
  rateLimit: Object.freeze(['incr', 'pexpire', 'pttl', 'evalsha', 'eval']),
  /** Admin and tests only, never on a request path: `RedisStore.clearPrefix` (SCAN in batches + UNLINK). */
  admin: Object.freeze(['scan', 'unlink']),
})

export type HotpathCommandGroup = keyof typeof HOTPATH_REDIS_COMMANDS

/** The groups a cache + write-behind deployment needs (standalone or cluster). */
export const DEFAULT_ACL_GROUPS: readonly HotpathCommandGroup[] = Object.freeze([
  'cache',
  'coherence',
  'writeBehind',
  'cluster',
])

/**
 * The ACL rules of a user limited to Hotpath's commands, for `ACL SETUSER <name> on >password
 * <rules…>` or a users.acl file.
 *
 * @example
 * hotpathAclRules({ keys: ['hp:*', 'hotpath:wb:*'], channels: ['hp:*'] }).join(' ')
 * // '~hp:* ~hotpath:wb:* &hp:* -@all +get +mget … +cluster|slots'
 */
export function hotpathAclRules(
  options: {
    /** Key patterns: the cache prefix and the write-behind prefix. @default ['hp:*', 'hotpath:wb:*'] */
    keys?: readonly string[]
    /** Channel patterns: the coherence channel is `<prefix>:<appVersion>:bus`. @default ['hp:*'] */
    channels?: readonly string[]
    /** Command groups to grant. @default ['cache', 'coherence', 'writeBehind', 'cluster'] */
    groups?: readonly HotpathCommandGroup[]
  } = {},
): string[] {
  const groups = options.groups ?? DEFAULT_ACL_GROUPS
  const commands = new Set(groups.flatMap((group) => HOTPATH_REDIS_COMMANDS[group]))
  return [
    ...(options.keys ?? ['hp:*', 'hotpath:wb:*']).map((pattern) => `~${pattern}`),
    ...(options.channels ?? ['hp:*']).map((pattern) => `&${pattern}`),
    '-@all',
    ...[...commands].map((command) => `+${command}`),
  ]
}
