import { RESP_TYPES } from 'redis'
import { CacheStoreError, InvalidOptionError } from '../../../errors.js'
import { parseDuration, type Duration } from '../../../util/duration.js'
import { CircuitBreaker, type CircuitState } from '../../circuit-breaker.js'
import type { Codec } from '../../codec/codec.js'
import { jsonCodec } from '../../codec/json-codec.js'
import { msgpackCodec } from '../../codec/msgpack-codec.js'
import {
  DEFAULT_BREAKER_DURATION,
  DEFAULT_BREAKER_THRESHOLD,
  DEFAULT_L2_TIMEOUT,
  DEFAULT_LEASE_TTL,
} from '../../defaults.js'
import {
  decodeStored,
  encodePayload,
  encodeStored,
  encodeTombstone,
  etagOf,
  isTombstone,
  type StoredValue,
} from '../../entry.js'
import type { CacheEntry } from '../../types.js'
import type { Store, StoreFactory } from '../store.js'
import {
  createRedisConnection,
  isClusterConnection,
  resolveRedisConnectionOptions,
  toRedisConnection,
  type RedisConnection,
  type RedisConnectionOptions,
  type ResolvedRedisConnectionOptions,
} from './redis-connection.js'
import {
  ACQUIRE_SCRIPT,
  BUMP_SCRIPT,
  DELETE_SCRIPT,
  RELEASE_SCRIPT,
  WRITE_SCRIPT,
  type LuaScript,
} from './scripts.js'

type RedisArg = string | Buffer
interface CommandOptions {
  timeout?: number
  typeMapping?: Record<number, unknown>
}

/**
 * The shape of a node-redis 5 client this store needs (typed by shape, not by import, so any
 * compatible client fits); a `RedisCluster` is wrapped to fit it.
 */
export type RedisClientLike = RedisConnection

export interface RedisStoreOptions extends RedisConnectionOptions {
  /**
   * An existing node-redis client: `createClient()`, `createCluster()` or
   * `createRedisConnection()` (not `createSentinel()`: use a `redis+sentinel://` URL or the
   * `sentinel` option). It is connected if needed but never closed by the cache; the connection
   * options (`url`, `cluster`, `tls`…) are then ignored. @default undefined
   */
  client?: unknown
  /** Value codec. @default msgpackCodec() (picked by bench/cache/codec.ts) */
  codec?: Codec
  /** Timeout of every Redis call. @default 500 */
  timeout?: Duration
  /** Consecutive failures that open the circuit breaker. @default 5 */
  breakerThreshold?: number
  /** How long the breaker stays open before a probe. @default 2000 */
  breakerDuration?: Duration
  /** How long a delete's tombstone and lease revocation last; keep it above your slowest loader. @default 10000 */
  leaseTtl?: Duration
}

export interface ResolvedRedisStoreOptions {
  readonly url: string
  /** How owned connections are opened (unused when `client` is given). */
  readonly connection: ResolvedRedisConnectionOptions
  readonly client: RedisClientLike | undefined
  readonly codec: Codec
  readonly timeout: number
  readonly breakerThreshold: number
  readonly breakerDuration: number
  readonly leaseTtl: number
}

export function resolveRedisStoreOptions(options: RedisStoreOptions = {}): ResolvedRedisStoreOptions {
  const client = options.client === undefined ? undefined : toRedisConnection(options.client)
  if (options.client !== undefined && client === undefined) {
    throw new InvalidOptionError(
      'client',
      options.client,
      'a node-redis 5 client (createClient(), createCluster() or createRedisConnection()); for Sentinel, a redis+sentinel:// URL or the "sentinel" option',
    )
  }
  // A given client makes the URL irrelevant; a bad one is still reported when there is no client.
  const connection = resolveRedisConnectionOptions(
    client === undefined ? options : { ...options, url: undefined },
  )
  const threshold = options.breakerThreshold ?? DEFAULT_BREAKER_THRESHOLD
  if (!Number.isInteger(threshold) || threshold < 1)
    throw new InvalidOptionError('breakerThreshold', threshold, 'an integer >= 1')
  const timeout = parseDuration(options.timeout ?? DEFAULT_L2_TIMEOUT, 'timeout')
  if (timeout <= 0) throw new InvalidOptionError('timeout', options.timeout, 'a duration above 0')
  return Object.freeze({
    url: connection.url,
    connection,
    client,
    codec: options.codec ?? msgpackCodec(),
    timeout,
    breakerThreshold: threshold,
    breakerDuration: parseDuration(options.breakerDuration ?? DEFAULT_BREAKER_DURATION, 'breakerDuration'),
    leaseTtl: parseDuration(options.leaseTtl ?? DEFAULT_LEASE_TTL, 'leaseTtl'),
  })
}

/**
 * A call waiting for its reply. `reject` is cleared once the call settles: the queue keeps entries
 * until the next sweep, and a settled entry must not keep the caller's promise (and so its reply,
 * possibly a large buffer) alive until then.
 */
interface PendingCall {
  readonly deadline: number
  readonly operation: string
  reject: ((error: unknown) => void) | undefined
}

const BUFFER_REPLIES: CommandOptions = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } }
const LEASE_SUFFIX = '\0L'
const NOOP = (): void => {}

/**
 * `fill`: a loader's result, version-checked; `set-versioned`: an explicit set with a caller
 * version, version-checked; `set`: an explicit set without one, always lands.
 */
export type WriteMode = 'fill' | 'set' | 'set-versioned'

/** A decoded shared-tier read: the stored value and its payload size (for L1 accounting). */
export interface StoredRead {
  readonly value: StoredValue
  readonly payloadBytes: number
}

export interface RedisStoreHooks {
  onError?: (operation: string, error: unknown) => void
  onCircuit?: (state: CircuitState) => void
}

/**
 * The shared tier: node-redis 5, every call with a timeout and behind a circuit breaker, the
 * offline queue disabled, writes version-checked by Lua scripts that also publish coherence
 * messages atomically with the write.
 */
export class RedisStore implements Store {
  readonly kind = 'redis'
  readonly options: ResolvedRedisStoreOptions
  readonly codecs: ReadonlyMap<number, Codec>
  readonly #breaker: CircuitBreaker
  readonly #client: RedisClientLike
  readonly #owned: boolean
  readonly #ownedClients: RedisClientLike[] = []
  /** Pending calls in deadline order (the timeout is fixed, so arrival order is deadline order). */
  #pending: PendingCall[] = []
  #pendingHead = 0
  #sweeper: NodeJS.Timeout | undefined
  #connecting: Promise<void> | undefined
  #connected = false
  #closed = false
  hooks: RedisStoreHooks = {}
  readonly #decodeReply = (raw: Buffer | null): StoredRead | undefined => this.#decode(raw)

  /** Prefer the lazy `redisStore(options)` factory; this takes already resolved options. */
  constructor(options: ResolvedRedisStoreOptions) {
    this.options = options
    const codec = this.options.codec
    const json = jsonCodec()
    const msgpack = msgpackCodec()
    this.codecs = new Map([
      [json.id.charCodeAt(0), codec.id === json.id ? codec : json],
      [msgpack.id.charCodeAt(0), codec.id === msgpack.id ? codec : msgpack],
      [codec.id.charCodeAt(0), codec],
    ])
    this.#breaker = new CircuitBreaker({
      threshold: this.options.breakerThreshold,
      duration: this.options.breakerDuration,
      onChange: (state) => this.hooks.onCircuit?.(state),
    })
    if (this.options.client) {
      this.#client = this.options.client
      this.#owned = false
    } else {
      this.#client = this.#createClient()
      this.#owned = true
    }
  }

  #createClient(subscriber = false): RedisClientLike {
    const client = createRedisConnection(this.options.connection, { subscriber })
    client.on('error', (error: never) => this.hooks.onError?.('connection', error))
    this.#ownedClients.push(client)
    return client
  }

  get circuit(): CircuitState {
    return this.#breaker.state
  }

  /** Connect (once); later calls return the same promise. Never rejects: failures go to `onError`. */
  connect(): Promise<void> {
    this.#connecting ??= (async () => {
      try {
        if (!this.#client.isOpen) await this.#client.connect()
        this.#connected = true
      } catch (error) {
        this.hooks.onError?.('connect', error)
      }
    })()
    return this.#connecting
  }

  /** A dedicated connection for pub/sub (always owned by the store). */
  subscriber(): RedisClientLike {
    const sub = this.#owned
      ? this.#createClient(true)
      : (this.#client.duplicate({ disableOfflineQueue: true }) as RedisClientLike)
    if (!this.#owned) {
      sub.on('error', (error: never) => this.hooks.onError?.('subscriber', error))
      this.#ownedClients.push(sub)
    }
    return sub
  }

  /**
   * Run one command: refused at once while the breaker is open, otherwise sent with a deadline.
   * node-redis' own `timeout` only covers the wait before a command is written, not the wait for
   * its reply (a frozen server never answers), so the deadline is enforced here, by one sweeper
   * timer for all pending calls instead of a timer per call. `map` turns the reply into the
   * result without another promise on the read path (if it throws, the call rejects).
   */
  #run<T, R = T>(
    operation: string,
    args: readonly RedisArg[],
    buffers: boolean,
    map?: (reply: R) => T,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new CacheStoreError(operation, 'the store is closed'))
    if (!this.#connected) return this.#runAfterConnect(operation, args, buffers, map)
    if (!this.#breaker.allow()) {
      return Promise.reject(new CacheStoreError(operation, 'the circuit breaker is open (Redis is failing)'))
    }
    return new Promise<T>((resolve, reject) => {
      const pending: PendingCall = { deadline: Date.now() + this.options.timeout, operation, reject }
      this.#pending.push(pending)
      this.#sweeper ??= setInterval(
        () => this.#sweep(),
        Math.max(5, Math.floor(this.options.timeout / 5)),
      ).unref()
      let call: Promise<R>
      try {
        call = this.#client.sendCommand<R>(args, buffers ? BUFFER_REPLIES : undefined)
      } catch (error) {
        call = Promise.reject(error)
      }
      call.then(
        (value) => {
          if (pending.reject === undefined) return
          pending.reject = undefined
          this.#breaker.success()
          if (map === undefined) resolve(value as unknown as T)
          else {
            // A throwing map must reject the call, not leave it pending with its deadline cleared.
            try {
              resolve(map(value))
            } catch (error) {
              reject(error)
            }
          }
        },
        (error: unknown) => {
          if (pending.reject === undefined) return
          pending.reject = undefined
          this.#fail(operation, error, reject)
        },
      )
    })
  }

  async #runAfterConnect<T, R>(
    operation: string,
    args: readonly RedisArg[],
    buffers: boolean,
    map: ((reply: R) => T) | undefined,
  ): Promise<T> {
    if (this.#breaker.refusing()) {
      throw new CacheStoreError(operation, 'the circuit breaker is open (Redis is failing)')
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      this.connect(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.options.timeout)
      }),
    ])
    clearTimeout(timer)
    if (!this.#connected) {
      this.#breaker.failure()
      const failure = new CacheStoreError(operation, 'not connected to Redis')
      this.hooks.onError?.(operation, failure)
      throw failure
    }
    return this.#run<T, R>(operation, args, buffers, map)
  }

  #fail(operation: string, error: unknown, reject: (error: unknown) => void): void {
    if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
      this.#breaker.success()
      reject(error)
      return
    }
    this.#breaker.failure()
    const failure = new CacheStoreError(
      operation,
      error instanceof Error ? error.message : String(error),
      error,
    )
    this.hooks.onError?.(operation, failure)
    reject(failure)
  }

  #sweep(): void {
    const queue = this.#pending
    const now = Date.now()
    let head = this.#pendingHead
    while (head < queue.length) {
      const pending = queue[head] as PendingCall
      const reject = pending.reject
      if (reject !== undefined) {
        if (now < pending.deadline) break
        pending.reject = undefined
        this.#fail(
          pending.operation,
          new Error(`no reply within ${this.options.timeout} ms (option "timeout")`),
          reject,
        )
      }
      head++
    }
    if (head === queue.length) {
      this.#pending = []
      this.#pendingHead = 0
    } else if (head > 1024 && head * 2 > queue.length) {
      this.#pending = queue.slice(head)
      this.#pendingHead = 0
    } else {
      this.#pendingHead = head
    }
  }

  async #eval<T>(
    operation: string,
    lua: LuaScript,
    keys: readonly RedisArg[],
    args: readonly RedisArg[],
    buffers = false,
  ): Promise<T> {
    const tail = [String(keys.length), ...keys, ...args]
    try {
      return await this.#run<T>(operation, ['EVALSHA', lua.sha, ...tail], buffers)
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error
      return this.#run<T>(operation, ['EVAL', lua.source, ...tail], buffers)
    }
  }

  /** Decode a reply; an undecodable value (foreign or corrupt) counts as missing and is reported. */
  #decode(raw: Buffer | null | undefined): StoredRead | undefined {
    if (raw === null || raw === undefined) return undefined
    try {
      return decodeStored(raw, this.codecs)
    } catch (error) {
      this.hooks.onError?.('decode', error)
      return undefined
    }
  }

  /** Read one key: entry, tombstone or nothing. */
  read(key: string): Promise<StoredRead | undefined> {
    return this.#run('get', ['GET', key], true, this.#decodeReply)
  }

  /** Read many keys in one round trip (MGET; on a cluster one MGET per slot, sent together). */
  async readMany(keys: readonly string[]): Promise<(StoredRead | undefined)[]> {
    if (keys.length === 0) return []
    const raws = await this.#run<(Buffer | null)[]>('mget', ['MGET', ...keys], true)
    return raws.map((raw) => this.#decode(raw))
  }

  /**
   * Version-checked write of an encoded entry; publishes `message` on `channel` when it lands.
   * Returns false when a newer version, a tombstone or a lease revocation refused it.
   */
  async write(
    key: string,
    entry: CacheEntry,
    payload: Buffer,
    options: { token?: string; mode: WriteMode; channel?: string; message?: string },
  ): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(entry.staleUntil - Date.now()))
    const stored = encodeStored(entry, payload)
    const reply = await this.#eval<number>(
      'set',
      WRITE_SCRIPT,
      [key, key + LEASE_SUFFIX],
      [
        String(entry.version),
        stored,
        String(ttl),
        options.token ?? '',
        options.mode,
        String(this.options.leaseTtl),
        options.channel ?? '',
        options.message ?? '',
        String(entry.createdAt),
      ],
    )
    return reply === 1
  }

  /** Delete: a tombstone at `version` (the delete's time) plus lease revocation, published atomically. */
  async remove(key: string, version: number, channel = '', message = ''): Promise<void> {
    await this.#eval(
      'delete',
      DELETE_SCRIPT,
      [key, key + LEASE_SUFFIX],
      [encodeTombstone(version), String(this.options.leaseTtl), channel, message],
    )
  }

  /** Delete many keys in one round trip (the scripts and the publish are auto-pipelined). */
  async removeMany(keys: readonly string[], version: number, channel = '', message = ''): Promise<void> {
    const calls: Promise<unknown>[] = keys.map((key) => this.remove(key, version))
    if (channel !== '') calls.push(this.publish(channel, message))
    await Promise.all(calls)
  }

  /** Try to take the fill lease; returns whether it was taken and the current stored value. */
  async acquireLease(
    key: string,
    token: string,
    ttl: number,
  ): Promise<{ acquired: boolean; current: StoredRead | undefined }> {
    const [acquired, raw] = await this.#eval<[number, Buffer | null]>(
      'lease',
      ACQUIRE_SCRIPT,
      [key + LEASE_SUFFIX, key],
      [token, String(Math.max(1, Math.ceil(ttl)))],
      true,
    )
    return { acquired: acquired === 1, current: this.#decode(raw) }
  }

  async releaseLease(key: string, token: string): Promise<void> {
    await this.#eval('release', RELEASE_SCRIPT, [key + LEASE_SUFFIX], [token])
  }

  /** Read integer/number keys (generations, tag timestamps) in one round trip, cluster-safe. */
  async readNumbers(keys: readonly string[]): Promise<number[]> {
    const replies = await Promise.all(keys.map((key) => this.#run<string | null>('get', ['GET', key], false)))
    return replies.map((reply) => (reply === null ? 0 : Number(reply)))
  }

  /** INCR a generation and publish `head + generation + tail`. */
  async bump(key: string, channel: string, head: string, tail: string): Promise<number> {
    return this.#eval<number>('bump', BUMP_SCRIPT, [key], [channel, head, tail])
  }

  /** Store tag invalidation times and publish, in one round trip. */
  async writeNumbers(
    keys: readonly string[],
    value: number,
    ttl: number,
    channel: string,
    message: string,
  ): Promise<void> {
    const calls: Promise<unknown>[] = keys.map((key) =>
      this.#run('tags', ['SET', key, String(value), 'PX', String(Math.max(1, Math.ceil(ttl)))], false),
    )
    if (channel !== '') calls.push(this.publish(channel, message))
    await Promise.all(calls)
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#run('publish', ['PUBLISH', channel, message], false)
  }

  // Store contract (used directly by the shared store suite)

  async get(key: string): Promise<CacheEntry | undefined> {
    const read = await this.read(key)
    return read === undefined || isTombstone(read.value) ? undefined : read.value
  }

  async getMany(keys: readonly string[]): Promise<(CacheEntry | undefined)[]> {
    return (await this.readMany(keys)).map((read) =>
      read === undefined || isTombstone(read.value) ? undefined : read.value,
    )
  }

  async set(key: string, entry: CacheEntry): Promise<boolean> {
    const payload = encodePayload(entry.value, this.options.codec)
    const withEtag = entry.etag === '' ? { ...entry, etag: etagOf(payload) } : entry
    return this.write(key, withEtag, payload, { mode: 'set-versioned' })
  }

  async delete(key: string): Promise<void> {
    await this.remove(key, Date.now())
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    await this.removeMany(keys, Date.now())
  }

  /**
   * Delete every key under `prefix` with SCAN, in batches of about 1000 keys, on every master of
   * a cluster (admin and tests only, never on a request path: its cost grows with the database).
   */
  async clearPrefix(prefix: string): Promise<void> {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`
    const client = this.#client
    await this.connect()
    const scan = isClusterConnection(client)
      ? (await client.masterClients()).map(
          (node) => (args: readonly string[]) => node.sendCommand<[string, string[]]>(args),
        )
      : [(args: readonly string[]) => this.#run<[string, string[]]>('scan', args, false)]
    for (const scanNode of scan) {
      let cursor = '0'
      do {
        const [next, keys] = await scanNode(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])
        cursor = next
        if (keys.length > 0) await this.#run('del', ['UNLINK', ...keys], false)
      } while (cursor !== '0')
    }
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper)
    for (const pending of this.#pending) {
      const reject = pending.reject
      if (reject === undefined) continue
      pending.reject = undefined
      reject(new CacheStoreError(pending.operation, 'the store was closed'))
    }
    this.#pending = []
    for (const client of this.#ownedClients) {
      try {
        client.destroy()
      } catch {
        NOOP()
      }
    }
  }
}

/**
 * The Redis tier as a lazy factory (import it from `hotpath/redis` so that memory-only users never
 * load node-redis).
 *
 * @example
 * import { createCache } from 'hotpath'
 * import { redisStore } from 'hotpath/redis'
 * const cache = createCache({ l2: redisStore({ url: 'redis://127.0.0.1:6379' }) })
 */
export function redisStore(
  options: RedisStoreOptions = {},
): StoreFactory<RedisStore, ResolvedRedisStoreOptions> {
  const resolved = resolveRedisStoreOptions(options)
  return Object.freeze({ options: resolved, factory: () => new RedisStore(resolved) })
}
