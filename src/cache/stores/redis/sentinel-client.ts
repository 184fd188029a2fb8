type RedisArg = string | Buffer

/** The parts of a node-redis 5 `RedisSentinel` this adapter uses (typed by shape, not by import). */
export interface NodeRedisSentinelLike {
  readonly isOpen: boolean
  readonly isReady: boolean
  connect(): Promise<unknown>
  sendCommand<T = unknown>(
    isReadonly: boolean | undefined,
    args: readonly RedisArg[],
    options?: Record<string, unknown>,
  ): Promise<T>
  subscribe(channels: string, listener: (message: string, channel: string) => void): Promise<unknown>
  on(event: string, listener: (...args: never[]) => void): unknown
  off(event: string, listener: (...args: never[]) => void): unknown
  destroy(): Promise<void>
}

/** Topology events that mean "the primary changed": the pub/sub connection moved, messages may be lost. */
const MASTER_CHANGES = new Set(['MASTER_CHANGE'])

/**
 * A node-redis `RedisSentinel` behind the standalone client shape the cache and write-behind use:
 * every command goes to the current primary (node-redis follows failovers), `duplicate()` opens
 * another Sentinel-managed connection (write-behind's blocking reads need their own), and a
 * primary change is reported as `end` so that the cache stops trusting its L1 until resynchronised.
 */
export class SentinelClient {
  readonly sentinel: NodeRedisSentinelLike
  readonly #create: () => NodeRedisSentinelLike
  readonly #wrapped = new Map<(...args: never[]) => void, (event: { type?: string }) => void>()

  constructor(create: () => NodeRedisSentinelLike) {
    this.#create = create
    this.sentinel = create()
  }

  get isOpen(): boolean {
    return this.sentinel.isOpen
  }

  get isReady(): boolean {
    return this.sentinel.isReady
  }

  async connect(): Promise<this> {
    await this.sentinel.connect()
    return this
  }

  sendCommand<T = unknown>(
    args: readonly RedisArg[],
    options?: { routeKey?: string; typeMapping?: Record<number, unknown> },
  ): Promise<T> {
    const { routeKey: _unused, ...rest } = options ?? {}
    return this.sentinel.sendCommand<T>(false, args, options === undefined ? undefined : rest)
  }

  /** Another Sentinel-managed connection with the same options. */
  duplicate(): SentinelClient {
    return new SentinelClient(this.#create)
  }

  async subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void> {
    await this.sentinel.subscribe(channel, listener)
  }

  on(event: string, listener: (...args: never[]) => void): this {
    if (event === 'end' || event === 'reconnecting') {
      const wrapped = (change: { type?: string }) => {
        if (MASTER_CHANGES.has(change?.type ?? '')) (listener as () => void)()
      }
      this.#wrapped.set(listener, wrapped)
      this.sentinel.on('topology-change', wrapped as (...args: never[]) => void)
    } else {
      this.sentinel.on(event, listener)
    }
    return this
  }

  off(event: string, listener: (...args: never[]) => void): this {
    const wrapped = this.#wrapped.get(listener)
    if ((event === 'end' || event === 'reconnecting') && wrapped !== undefined) {
      this.sentinel.off('topology-change', wrapped as (...args: never[]) => void)
      this.#wrapped.delete(listener)
    } else {
      this.sentinel.off(event, listener)
    }
    return this
  }

  destroy(): void {
    this.sentinel.destroy().catch(() => {})
  }
}
