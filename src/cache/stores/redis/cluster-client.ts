import { CLUSTER_SLOTS, keySlot } from './key-slot.js'

type RedisArg = string | Buffer

/** Options of one routed command: node-redis' command options plus a routing key for keyless commands. */
export interface RoutedCommandOptions {
  /** Route a keyless command (WAIT, WAITAOF) to the node that owns this key. @default undefined (any node) */
  routeKey?: string
  typeMapping?: Record<number, unknown>
  timeout?: number
}

/** The parts of a node-redis 5 `RedisCluster` this adapter uses (typed by shape, not by import). */
export interface NodeRedisClusterLike {
  readonly isOpen: boolean
  readonly _options: { defaults?: Record<string, unknown> } & Record<string, unknown>
  readonly masters: readonly unknown[]
  readonly slots: readonly unknown[]
  connect(): Promise<unknown>
  sendCommand<T = unknown>(
    firstKey: RedisArg | undefined,
    isReadonly: boolean | undefined,
    args: readonly RedisArg[],
    options?: Record<string, unknown>,
  ): Promise<T>
  nodeClient(node: unknown): unknown
  duplicate(overrides?: Record<string, unknown>): NodeRedisClusterLike
  subscribe(channels: string, listener: (message: string, channel: string) => void): Promise<void>
  on(event: string, listener: (...args: never[]) => void): unknown
  off(event: string, listener: (...args: never[]) => void): unknown
  destroy(): void
}

/** A standalone node client of one cluster master, as returned by `nodeClient`. */
interface NodeClient {
  sendCommand<T = unknown>(args: readonly RedisArg[]): Promise<T>
}

/** Whether `value` looks like a node-redis `RedisCluster` (and not a standalone client). */
export function isNodeRedisCluster(value: unknown): value is NodeRedisClusterLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    'nodeClient' in value &&
    'masters' in value &&
    typeof (value as { sendCommand?: unknown }).sendCommand === 'function'
  )
}

/** Commands that only read (eligible for replicas when the cluster is created with `useReplicas`). */
const READONLY = new Set([
  'GET',
  'MGET',
  'GETRANGE',
  'EXISTS',
  'HGET',
  'HMGET',
  'HGETALL',
  'XRANGE',
  'XREVRANGE',
  'XLEN',
  'XPENDING',
  'PTTL',
  'TTL',
])

/** Multi-key commands split by slot: one command per slot, replies merged. */
const SPLIT: Record<string, 'values' | 'sum'> = { MGET: 'values', DEL: 'sum', UNLINK: 'sum', EXISTS: 'sum' }

/** The key that decides the slot of a command (undefined: any node). */
export function firstKeyOf(args: readonly RedisArg[]): RedisArg | undefined {
  const name = String(args[0]).toUpperCase()
  switch (name) {
    case 'EVAL':
    case 'EVALSHA':
    case 'EVAL_RO':
    case 'EVALSHA_RO':
    case 'FCALL':
      return Number(args[2]) > 0 ? args[3] : undefined
    case 'XREAD':
    case 'XREADGROUP': {
      const at = args.findIndex((arg) => String(arg).toUpperCase() === 'STREAMS')
      return at === -1 ? undefined : args[at + 1]
    }
    case 'XGROUP':
    case 'XINFO':
      return args[2]
    case 'PUBLISH':
    case 'PING':
    case 'INFO':
    case 'WAIT':
    case 'WAITAOF':
    case 'SCAN':
    case 'SCRIPT':
    case 'CLUSTER':
      return undefined
    default:
      return args[1]
  }
}

/** Topology reads that may come back partial before a partial topology is accepted. */
const PARTIAL_TOPOLOGY_RETRIES = 10

function defaultRetryDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), 1_000)
}

const EVENT_MAP: Record<string, readonly string[]> = {
  error: ['error', 'node-error'],
  ready: ['node-ready'],
  reconnecting: ['node-reconnecting'],
  end: ['node-disconnect', 'disconnect'],
}

/**
 * A node-redis `RedisCluster` behind the standalone client shape the cache and write-behind use
 * (`sendCommand(args)`): each command is routed by its key (`EVAL`/`EVALSHA` by their first key,
 * `XREADGROUP` by its stream), multi-key `MGET`/`DEL`/`UNLINK`/`EXISTS` are split by slot (one
 * command per slot, sent together, replies reassembled in input order) and connection events are
 * mapped to the standalone names (`ready`, `reconnecting`, `end`, `error`).
 */
export class ClusterClient {
  readonly cluster: NodeRedisClusterLike
  readonly #listeners = new Map<(...args: never[]) => void, [string, (...args: never[]) => void][]>()
  readonly #retryDelay: (attempt: number) => number
  #connecting: Promise<this> | undefined
  #destroyed = false

  /**
   * @param retryDelay delay before the next topology discovery after a failed one (node-redis
   * gives up after one try; a standalone client keeps reconnecting, so this does too).
   */
  constructor(cluster: NodeRedisClusterLike, retryDelay: (attempt: number) => number = defaultRetryDelay) {
    this.cluster = cluster
    this.#retryDelay = retryDelay
  }

  get isOpen(): boolean {
    return this.cluster.isOpen
  }

  get isReady(): boolean {
    return this.cluster.isOpen
  }

  /**
   * Discover the topology and connect; when no seed node answers, retry (with `retryDelay`)
   * until one does or the client is destroyed, reporting each failure as an `error` event.
   */
  connect(): Promise<this> {
    this.#connecting ??= (async () => {
      for (let attempt = 0; ; attempt++) {
        if (this.#destroyed) throw new Error('the cluster client was destroyed before it connected')
        try {
          await this.cluster.connect()
          // A topology read while the cluster is forming (slots not all assigned yet) would stay
          // partial: node-redis only rediscovers on MOVED. Read it again, a few times at most (a
          // cluster may run with partial coverage on purpose).
          if (attempt >= PARTIAL_TOPOLOGY_RETRIES || this.#covered()) return this
          this.cluster.destroy()
          throw new Error('the cluster does not cover every slot yet')
        } catch (error) {
          if (this.cluster.isOpen) return this
          this.#emitError(error)
          await new Promise((resolve) => setTimeout(resolve, this.#retryDelay(attempt)))
        }
      }
    })().finally(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  #covered(): boolean {
    const slots = this.cluster.slots
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) if (slots[slot] === undefined) return false
    return true
  }

  #emitError(error: unknown): void {
    const emitter = this.cluster as unknown as {
      emit?: (event: string, ...args: unknown[]) => boolean
      listenerCount?: (event: string) => number
    }
    if ((emitter.listenerCount?.('error') ?? 0) > 0) emitter.emit?.('error', error)
  }

  sendCommand<T = unknown>(args: readonly RedisArg[], options?: RoutedCommandOptions): Promise<T> {
    const name = String(args[0]).toUpperCase()
    let commandOptions = options as Record<string, unknown> | undefined
    let routeKey: RedisArg | undefined
    if (options?.routeKey !== undefined) {
      const { routeKey: key, ...rest } = options
      routeKey = key
      commandOptions = rest
    }
    const split = SPLIT[name]
    if (split !== undefined && args.length > 2) {
      const result = this.#split<T>(name, args, split, commandOptions)
      if (result !== undefined) return result
    }
    return this.cluster.sendCommand<T>(routeKey ?? firstKeyOf(args), READONLY.has(name), args, commandOptions)
  }

  #split<T>(
    name: string,
    args: readonly RedisArg[],
    mode: 'values' | 'sum',
    options: Record<string, unknown> | undefined,
  ): Promise<T> | undefined {
    const groups = new Map<number, number[]>()
    for (let i = 1; i < args.length; i++) {
      const slot = keySlot(args[i] as RedisArg)
      const group = groups.get(slot)
      if (group === undefined) groups.set(slot, [i])
      else group.push(i)
    }
    if (groups.size === 1) return undefined
    const readonly = READONLY.has(name)
    const calls = [...groups.values()].map((positions) =>
      this.cluster.sendCommand<unknown>(
        args[positions[0] as number],
        readonly,
        [name, ...positions.map((i) => args[i] as RedisArg)],
        options,
      ),
    )
    return Promise.all(calls).then((replies) => {
      if (mode === 'sum') return replies.reduce<number>((sum, reply) => sum + Number(reply), 0) as T
      const out = new Array<unknown>(args.length - 1)
      let g = 0
      for (const positions of groups.values()) {
        const reply = replies[g++] as unknown[]
        positions.forEach((position, i) => {
          out[position - 1] = reply[i]
        })
      }
      return out as T
    })
  }

  /** A client per master (connected), e.g. to SCAN every node. */
  async masterClients(): Promise<NodeClient[]> {
    return Promise.all(
      this.cluster.masters.map((master) => this.cluster.nodeClient(master) as Promise<NodeClient>),
    )
  }

  /**
   * Another cluster client with the same options; standalone client options given here (such as
   * `disableOfflineQueue`) apply to every node connection.
   */
  duplicate(
    overrides: Record<string, unknown> = {},
    clusterOverrides: Record<string, unknown> = {},
  ): ClusterClient {
    const defaults = { ...(this.cluster._options.defaults ?? {}), ...overrides }
    return new ClusterClient(this.cluster.duplicate({ ...clusterOverrides, defaults }), this.#retryDelay)
  }

  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void> {
    return this.cluster.subscribe(channel, listener)
  }

  on(event: string, listener: (...args: never[]) => void): this {
    const names = EVENT_MAP[event] ?? [event]
    const registered = this.#listeners.get(listener) ?? []
    for (const name of names) {
      this.cluster.on(name, listener)
      registered.push([name, listener])
    }
    this.#listeners.set(listener, registered)
    return this
  }

  off(event: string, listener: (...args: never[]) => void): this {
    const names = new Set(EVENT_MAP[event] ?? [event])
    const registered = this.#listeners.get(listener) ?? []
    for (const [name, fn] of registered) if (names.has(name)) this.cluster.off(name, fn)
    this.#listeners.set(
      listener,
      registered.filter(([name]) => !names.has(name)),
    )
    return this
  }

  destroy(): void {
    this.#destroyed = true
    if (this.cluster.isOpen) this.cluster.destroy()
  }
}
