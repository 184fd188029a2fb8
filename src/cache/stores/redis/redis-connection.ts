import { createClient, createCluster, createSentinel } from 'redis'
import { InvalidOptionError } from '../../../errors.js'
import { parseDuration, type Duration } from '../../../util/duration.js'
import {
  DEFAULT_REDIS_CONNECT_TIMEOUT,
  DEFAULT_REDIS_MAX_RECONNECT_DELAY,
  DEFAULT_REDIS_QUEUE_MAX_LENGTH,
} from '../../defaults.js'
import { ClusterClient, isNodeRedisCluster, type RoutedCommandOptions } from './cluster-client.js'
import { SentinelClient, type NodeRedisSentinelLike } from './sentinel-client.js'
import { DEFAULT_REDIS_URL, parseRedisUrl, type RedisTarget } from './redis-url.js'

type RedisArg = string | Buffer

/** TLS settings of the Redis connections (Node `tls.connect` options). */
export interface RedisTlsOptions {
  /** CA certificate(s) to trust (PEM), e.g. a private CA. @default Node's trusted CAs */
  ca?: string | Buffer | (string | Buffer)[]
  /** Client certificate (PEM), for servers with `tls-auth-clients yes`. @default undefined */
  cert?: string | Buffer
  /** Client private key (PEM). @default undefined */
  key?: string | Buffer
  /** Server name checked against the certificate. @default the host name */
  servername?: string
  /** Refuse servers whose certificate does not verify. @default true */
  rejectUnauthorized?: boolean
}

/** Where and how to connect to Redis (a server or a Redis Cluster). */
export interface RedisConnectionOptions {
  /**
   * `redis://[user:password@]host:port[/db]`, `rediss://…` (TLS), Sentinel:
   * `redis+sentinel://[user:password@]host:26379,host:26379/<master name>`, or a cluster:
   * `redis+cluster://[user:password@]host:port,host:port` / `rediss+cluster://…` (the seed nodes;
   * the topology is discovered from them). @default 'redis://127.0.0.1:6379'
   */
  url?: string
  /**
   * Connect to a Redis Cluster through these seed nodes (`host:port` or `redis://host:port`)
   * instead of `url`'s host. @default undefined (the URL decides)
   */
  cluster?: { rootNodes: readonly string[]; useReplicas?: boolean }
  /**
   * Reach the primary through Redis Sentinel: the master `name` and Sentinel nodes (`host:port`).
   * node-redis follows failovers. @default undefined (the URL decides)
   */
  sentinel?: { name: string; rootNodes: readonly string[] }
  /** ACL user name (overrides the URL's). @default the URL's, else 'default' */
  username?: string
  /** Password of the ACL user (overrides the URL's). @default the URL's, else none */
  password?: string
  /** TLS settings; `rediss://` URLs turn TLS on, `tls` given here turns it on for any URL. @default undefined */
  tls?: RedisTlsOptions
  /** Socket connect timeout. @default 2000 */
  connectTimeout?: Duration
  /** Longest delay between reconnect attempts. @default 1000 */
  maxReconnectDelay?: Duration
  /** Bound of node-redis' command queue (per node). @default 10000 */
  commandsQueueMaxLength?: number
}

/**
 * The client shape the cache and write-behind use: a node-redis 5 standalone client, or a
 * {@link ClusterClient} wrapping a `RedisCluster`.
 */
export interface RedisConnection {
  readonly isOpen: boolean
  readonly isReady: boolean
  connect(): Promise<unknown>
  sendCommand<T = unknown>(args: readonly RedisArg[], options?: RoutedCommandOptions): Promise<T>
  duplicate(overrides?: Record<string, unknown>): RedisConnection
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>
  on(event: string, listener: (...args: never[]) => void): unknown
  off(event: string, listener: (...args: never[]) => void): unknown
  destroy(): void
}

export { DEFAULT_REDIS_URL, parseRedisUrl, type RedisTarget } from './redis-url.js'

/** Resolved connection options (frozen). */
export interface ResolvedRedisConnectionOptions {
  readonly url: string
  readonly target: RedisTarget
  readonly username: string | undefined
  readonly password: string | undefined
  readonly tls: RedisTlsOptions | undefined
  readonly connectTimeout: number
  readonly maxReconnectDelay: number
  readonly commandsQueueMaxLength: number
  readonly useReplicas: boolean
}

export function resolveRedisConnectionOptions(
  options: RedisConnectionOptions = {},
): ResolvedRedisConnectionOptions {
  const url = options.url ?? DEFAULT_REDIS_URL
  let target = parseRedisUrl(url)
  if (target === undefined) {
    throw new InvalidOptionError(
      'url',
      url,
      "a redis://, rediss://, redis+cluster://, redis+sentinel:// (or rediss+…) URL such as 'redis://127.0.0.1:6379', 'redis+cluster://10.0.0.1:6379,10.0.0.2:6379' or 'redis+sentinel://10.0.0.1:26379/mymaster'",
    )
  }
  if (options.cluster !== undefined) {
    const nodes = options.cluster.rootNodes
    if (!Array.isArray(nodes) || nodes.length === 0) {
      throw new InvalidOptionError('cluster.rootNodes', nodes, "a non-empty list such as ['10.0.0.1:6379']")
    }
    const seeds = parseRedisUrl(
      `${target.tls ? 'rediss' : 'redis'}+cluster://${nodes.map((node) => String(node).replace(/^rediss?:\/\//, '')).join(',')}`,
    )
    if (seeds === undefined) throw new InvalidOptionError('cluster.rootNodes', nodes, "'host:port' entries")
    target = Object.freeze({ ...target, cluster: true, sentinel: undefined, rootNodes: seeds.rootNodes })
  } else if (options.sentinel !== undefined) {
    const { name, rootNodes: nodes } = options.sentinel
    const hosts = Array.isArray(nodes) ? nodes.map((node) => String(node).replace(/^rediss?:\/\//, '')) : []
    const seeds = parseRedisUrl(
      `${target.tls ? 'rediss' : 'redis'}+sentinel://${hosts.join(',')}/${encodeURIComponent(String(name))}`,
    )
    if (seeds === undefined || typeof name !== 'string' || name === '') {
      throw new InvalidOptionError(
        'sentinel',
        options.sentinel,
        "{ name: 'mymaster', rootNodes: ['10.0.0.1:26379'] }",
      )
    }
    target = Object.freeze({ ...target, cluster: false, sentinel: name, rootNodes: seeds.rootNodes })
  }
  const queue = options.commandsQueueMaxLength ?? DEFAULT_REDIS_QUEUE_MAX_LENGTH
  if (!Number.isInteger(queue) || queue < 1)
    throw new InvalidOptionError('commandsQueueMaxLength', queue, 'an integer >= 1')
  return Object.freeze({
    url,
    target,
    username: options.username ?? target.username,
    password: options.password ?? target.password,
    tls: options.tls,
    connectTimeout: parseDuration(options.connectTimeout ?? DEFAULT_REDIS_CONNECT_TIMEOUT, 'connectTimeout'),
    maxReconnectDelay: parseDuration(
      options.maxReconnectDelay ?? DEFAULT_REDIS_MAX_RECONNECT_DELAY,
      'maxReconnectDelay',
    ),
    commandsQueueMaxLength: queue,
    useReplicas: options.cluster?.useReplicas ?? false,
  })
}

/**
 * Open a Redis connection the way Hotpath needs it: no offline queue (a command while Redis is
 * away fails at once instead of piling up), a bounded command queue, capped exponential
 * reconnects; a cluster URL or `cluster` option gives a {@link ClusterClient}. Not connected yet.
 *
 * @example
 * const client = createRedisConnection({ url: 'rediss+cluster://hotpath:pw@10.0.0.1:6379,10.0.0.2:6379' })
 * await client.connect()
 * const cache = createCache({ l2: redisStore({ client }) })
 */
export function createRedisConnection(
  options: RedisConnectionOptions | ResolvedRedisConnectionOptions = {},
  extra: { subscriber?: boolean } = {},
): RedisConnection {
  const resolved = 'target' in options ? options : resolveRedisConnectionOptions(options)
  const maxDelay = resolved.maxReconnectDelay
  const tls = resolved.tls !== undefined || resolved.target.tls
  const socket = {
    connectTimeout: resolved.connectTimeout,
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), maxDelay),
    ...(tls ? { tls: true as const, ...resolved.tls } : {}),
  }
  const auth = {
    ...(resolved.username === undefined ? {} : { username: resolved.username }),
    ...(resolved.password === undefined ? {} : { password: resolved.password }),
  }
  if (resolved.target.sentinel !== undefined) {
    const name = resolved.target.sentinel
    const sentinelRootNodes = resolved.target.rootNodes.map((node) => {
      const parsed = new URL(node)
      return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port) }
    })
    const nodeClientOptions = {
      ...auth,
      disableOfflineQueue: true,
      commandsQueueMaxLength: resolved.commandsQueueMaxLength,
      socket,
    }
    return new SentinelClient(
      () =>
        createSentinel({
          name,
          sentinelRootNodes,
          nodeClientOptions,
          sentinelClientOptions: { socket },
        }) as unknown as NodeRedisSentinelLike,
    ) as unknown as RedisConnection
  }
  if (!resolved.target.cluster) {
    return createClient({
      url: standaloneUrl(resolved),
      ...auth,
      disableOfflineQueue: true,
      commandsQueueMaxLength: resolved.commandsQueueMaxLength,
      socket,
    }) as unknown as RedisConnection
  }
  const cluster = createCluster({
    rootNodes: resolved.target.rootNodes.map((url) => ({ url })),
    defaults: {
      ...auth,
      disableOfflineQueue: true,
      commandsQueueMaxLength: resolved.commandsQueueMaxLength,
      socket,
    },
    useReplicas: resolved.useReplicas,
    // A subscriber only needs the topology and its pub/sub node.
    minimizeConnections: extra.subscriber === true,
  })
  return new ClusterClient(cluster as unknown as ConstructorParameters<typeof ClusterClient>[0], (attempt) =>
    Math.min(50 * 2 ** Math.min(attempt, 10), maxDelay),
  )
}

/**
 * The URL given to node-redis: it lets the URL's credentials win over `username`/`password`
 * (options win here), and it refuses `tls` with a `redis://` URL (the `tls` option turns TLS on).
 */
function standaloneUrl(resolved: ResolvedRedisConnectionOptions): string {
  const sameAuth =
    resolved.username === resolved.target.username && resolved.password === resolved.target.password
  const upgrade = resolved.tls !== undefined && !resolved.target.tls
  if (sameAuth && !upgrade) return resolved.url
  const url = new URL(upgrade ? resolved.url.replace(/^redis:/i, 'rediss:') : resolved.url)
  if (!sameAuth) {
    url.username = ''
    url.password = ''
  }
  return url.toString()
}

/**
 * Accept a client given by the user: a node-redis standalone client as is, a `RedisCluster`
 * (from `createCluster`) wrapped in a {@link ClusterClient}. Undefined when it is neither (a
 * `createSentinel()` client included).
 */
export function toRedisConnection(client: unknown): RedisConnection | undefined {
  if (client instanceof ClusterClient) return client as unknown as RedisConnection
  if (isNodeRedisCluster(client)) return new ClusterClient(client) as unknown as RedisConnection
  // node-redis' RedisSentinel has another sendCommand signature and no duplicate() (docs/redis.md).
  if (typeof client === 'object' && client !== null && 'getMasterNode' in client) return undefined
  if (typeof client === 'object' && client !== null && 'sendCommand' in client)
    return client as RedisConnection
  return undefined
}

/** Whether a connection is a Redis Cluster (then SCAN and the like must visit every master). */
export function isClusterConnection(client: unknown): client is ClusterClient {
  return client instanceof ClusterClient
}
