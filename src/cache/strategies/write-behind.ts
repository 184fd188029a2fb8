import { EventEmitter } from 'node:events'
import os from 'node:os'
import {
  InvalidOptionError,
  WriteBehindClosedError,
  WriteBehindDrainTimeoutError,
  WriteBehindFullError,
  WriteBehindUnavailableError,
} from '../../errors.js'
import { parseDuration, type Duration } from '../../util/duration.js'
import { coalesce, streamIdTime, type StreamWrite } from './coalesce.js'
import { DeadLetters, fieldMap } from './dead-letters.js'
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_BLOCK,
  DEFAULT_CLAIM_IDLE,
  DEFAULT_CLAIM_INTERVAL,
  DEFAULT_DRAIN_TIMEOUT,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_DEAD_LETTERS,
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_RETRY_DELAY,
  DEFAULT_REDIS_URL,
  DEFAULT_RETRY_AFTER,
  DEFAULT_RETRY_DELAY,
  DEFAULT_STRATEGY_TIMEOUT,
  DEFAULT_WAIT_TIMEOUT,
  DEFAULT_WRITE_BEHIND_GROUP,
  DEFAULT_WRITE_BEHIND_NAME,
  DEFAULT_WRITE_BEHIND_PREFIX,
  MAX_BATCH_SIZE,
  RATE_WINDOW_MS,
  writeBehindKeys,
  type WriteBehindKeys,
} from './defaults.js'
import { call, createStrategyClient, evalScript, type StrategyRedisClient } from './redis-commands.js'
import type { VersionedDelete, WriteBatch, WriteId, WriteRepository } from './repository.js'
import { toRedisConnection } from '../stores/redis/redis-connection.js'
import { isTransientError } from './transient-error.js'
import { ACK_SCRIPT, DEAD_LETTER_SCRIPT, WRITE_SCRIPT } from './write-behind-scripts.js'

export interface WriteBehindOptions<T, Id extends WriteId> {
  /**
   * Redis URL (`redis://`, `rediss://` for TLS, `user:password@` for an ACL user,
   * `redis+cluster://host:port,host:port` for a Redis Cluster); ignored when `client` is given.
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string
  /**
   * A node-redis 5 client for writes and reads (`createClient()`, `createCluster()` or
   * `createRedisConnection()`; never closed by write-behind). The flusher always opens its own
   * connection for blocking reads. @default undefined (one is created from `url`)
   */
  client?: unknown
  /** Prefix of every Redis key. @default 'hotpath:wb' */
  prefix?: string
  /** Queue name (one per entity type); also the Redis Cluster hash tag. @default 'default' */
  name?: string
  /** Consumer group of the flushers. @default 'flushers' */
  group?: string
  /**
   * This flusher's consumer name. Keep it stable across restarts of one instance (a pod name, a
   * worker index): a restarted consumer first re-reads the writes it had taken before it died.
   * @default `${hostname}:${pid}`
   */
  consumer?: string
  /** The id of an entity. @default (entity) => entity.id */
  idOf?: (entity: T) => Id
  /** Stamp the version write-behind assigned onto the entity. @default (entity, version) => ({ ...entity, version }) */
  withVersion?: (entity: T, version: number) => T
  /** @default JSON.stringify */
  encode?: (entity: T) => string
  /** @default JSON.parse */
  decode?: (body: string) => T
  /** Writes waiting for the database above which new writes are refused (`WriteBehindFullError`). @default 100000 */
  maxPending?: number
  /** Seconds a refused client should wait (`Retry-After`). @default 1 */
  retryAfter?: number
  /** Stream entries per flush transaction. @default 500 */
  batchSize?: number
  /** How long the flusher blocks waiting for new writes. @default 200 */
  block?: Duration
  /** Start the flusher on `connect()`. Instances that only accept writes set it to false. @default true */
  flusher?: boolean
  /** Failed flushes of a write (not counting transient database outages) before it is dead-lettered. @default 5 */
  maxAttempts?: number
  /** First retry delay; doubles per attempt, with jitter. @default 100 */
  retryDelay?: Duration
  /** Cap of the retry delay (also while the database is down). @default 5000 */
  maxRetryDelay?: Duration
  /** A write taken by a consumer and idle this long is reclaimed by another (XAUTOCLAIM). @default 30000 */
  claimIdle?: Duration
  /** How often a flusher looks for writes to reclaim. @default 5000 */
  claimInterval?: Duration
  /** Deadline of every Redis call. @default 2000 */
  timeout?: Duration
  /**
   * `WAIT n`: acknowledge a write only once `n` replicas have it (in memory). 0 disables.
   * @default 0
   */
  waitReplicas?: number
  /**
   * `WAITAOF local replicas`: acknowledge a write only once it is fsynced to the append-only file
   * locally (`local: 1`) and on `replicas` replicas. Needs Redis >= 7.2 and `appendonly yes`;
   * `connect()` fails with a clear error otherwise. @default undefined (disabled)
   */
  waitAof?: { local: 0 | 1; replicas: number }
  /** Timeout of WAIT / WAITAOF; too few acknowledgements by then fail the write with a 503. @default 1000 */
  waitTimeout?: Duration
  /**
   * Whether a flush error means "the database is unavailable" (retried forever, never
   * dead-lettered) rather than "this write is bad". @default connection errors, SQLITE_BUSY/LOCKED,
   * PostgreSQL classes 08, 53, 57P, 40001, 40P01
   */
  isTransientError?: (error: unknown) => boolean
  /** Approximate cap of the dead-letter stream. @default 100000 */
  maxDeadLetters?: number
  /** Longest wait of `flush()` and of the drain in `close()`. @default 30000 */
  drainTimeout?: Duration
  /**
   * Called after each database commit, before the writes are acknowledged and their pending
   * values cleared (e.g. to invalidate cached lists the new rows belong to). Its errors are
   * reported as `error` events and do not fail the flush. @default undefined
   */
  afterCommit?: (batch: WriteBatch<T, Id>) => void | Promise<void>
}

export interface ResolvedWriteBehindOptions<T, Id extends WriteId> {
  readonly url: string
  readonly client: StrategyRedisClient | undefined
  readonly prefix: string
  readonly name: string
  readonly group: string
  readonly consumer: string
  readonly idOf: (entity: T) => Id
  readonly withVersion: (entity: T, version: number) => T
  readonly encode: (entity: T) => string
  readonly decode: (body: string) => T
  readonly maxPending: number
  readonly retryAfter: number
  readonly batchSize: number
  readonly block: number
  readonly flusher: boolean
  readonly maxAttempts: number
  readonly retryDelay: number
  readonly maxRetryDelay: number
  readonly claimIdle: number
  readonly claimInterval: number
  readonly timeout: number
  readonly waitReplicas: number
  readonly waitAof: { readonly local: 0 | 1; readonly replicas: number } | undefined
  readonly waitTimeout: number
  readonly isTransientError: (error: unknown) => boolean
  readonly maxDeadLetters: number
  readonly drainTimeout: number
  readonly afterCommit: ((batch: WriteBatch<T, Id>) => void | Promise<void>) | undefined
}

function positiveInteger(option: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidOptionError(option, value, `an integer from 1 to ${max}`)
  }
  return value
}

export function resolveWriteBehindOptions<T, Id extends WriteId>(
  options: WriteBehindOptions<T, Id>,
): ResolvedWriteBehindOptions<T, Id> {
  const client = options.client === undefined ? undefined : toRedisConnection(options.client)
  if (options.client !== undefined && client === undefined) {
    throw new InvalidOptionError(
      'client',
      options.client,
      'a node-redis 5 client (createClient(), createCluster() or createRedisConnection()); for Sentinel, a redis+sentinel:// URL or the "sentinel" option',
    )
  }
  const waitReplicas = options.waitReplicas ?? 0
  if (!Number.isInteger(waitReplicas) || waitReplicas < 0) {
    throw new InvalidOptionError('waitReplicas', waitReplicas, 'an integer >= 0')
  }
  const waitAof = options.waitAof
  if (
    waitAof !== undefined &&
    ((waitAof.local !== 0 && waitAof.local !== 1) ||
      !Number.isInteger(waitAof.replicas) ||
      waitAof.replicas < 0 ||
      waitAof.local + waitAof.replicas === 0)
  ) {
    throw new InvalidOptionError('waitAof', waitAof, '{ local: 0 | 1, replicas: integer >= 0 }, not both 0')
  }
  for (const name of ['prefix', 'name', 'group', 'consumer'] as const) {
    const value = options[name]
    if (value !== undefined && (typeof value !== 'string' || value === '' || /[{}\s]/.test(value))) {
      throw new InvalidOptionError(name, value, 'a non-empty string without braces or spaces')
    }
  }
  return Object.freeze({
    url: options.url ?? DEFAULT_REDIS_URL,
    client: client as StrategyRedisClient | undefined,
    prefix: options.prefix ?? DEFAULT_WRITE_BEHIND_PREFIX,
    name: options.name ?? DEFAULT_WRITE_BEHIND_NAME,
    group: options.group ?? DEFAULT_WRITE_BEHIND_GROUP,
    consumer: options.consumer ?? `${os.hostname()}:${process.pid}`,
    idOf: options.idOf ?? ((entity: T) => (entity as { id: Id }).id),
    withVersion: options.withVersion ?? ((entity: T, version: number) => ({ ...entity, version })),
    encode: options.encode ?? ((entity: T) => JSON.stringify(entity)),
    decode: options.decode ?? ((body: string) => JSON.parse(body) as T),
    maxPending: positiveInteger('maxPending', options.maxPending ?? DEFAULT_MAX_PENDING),
    retryAfter: positiveInteger('retryAfter', options.retryAfter ?? DEFAULT_RETRY_AFTER),
    batchSize: positiveInteger('batchSize', options.batchSize ?? DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE),
    block: parseDuration(options.block ?? DEFAULT_BLOCK, 'block'),
    flusher: options.flusher ?? true,
    maxAttempts: positiveInteger('maxAttempts', options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
    retryDelay: parseDuration(options.retryDelay ?? DEFAULT_RETRY_DELAY, 'retryDelay'),
    maxRetryDelay: parseDuration(options.maxRetryDelay ?? DEFAULT_MAX_RETRY_DELAY, 'maxRetryDelay'),
    claimIdle: parseDuration(options.claimIdle ?? DEFAULT_CLAIM_IDLE, 'claimIdle'),
    claimInterval: parseDuration(options.claimInterval ?? DEFAULT_CLAIM_INTERVAL, 'claimInterval'),
    timeout: parseDuration(options.timeout ?? DEFAULT_STRATEGY_TIMEOUT, 'timeout'),
    waitReplicas,
    waitAof: waitAof === undefined ? undefined : Object.freeze({ ...waitAof }),
    waitTimeout: parseDuration(options.waitTimeout ?? DEFAULT_WAIT_TIMEOUT, 'waitTimeout'),
    isTransientError: options.isTransientError ?? isTransientError,
    maxDeadLetters: positiveInteger('maxDeadLetters', options.maxDeadLetters ?? DEFAULT_MAX_DEAD_LETTERS),
    drainTimeout: parseDuration(options.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT, 'drainTimeout'),
    afterCommit: options.afterCommit,
  })
}

/** What a read finds in the pending-value hash while a write is on its way to the database. */
export type PendingWrite<T> =
  | { readonly op: 'upsert'; readonly version: number; readonly entity: T }
  | { readonly op: 'delete'; readonly version: number }

export interface WriteOptions {
  /**
   * The version the write is based on (e.g. the one just read). The write gets
   * max(baseVersion, highest version ever assigned to the id) + 1. @default 0
   */
  baseVersion?: number
}

export interface WriteBehindStats {
  /** Writes in the stream, not yet in the database (all instances). */
  readonly pending: number
  /** Age in ms of the oldest pending write (0 when none). */
  readonly lagMs: number
  /** Dead letters waiting for `hotpath writes dlq replay`. */
  readonly deadLetters: number
  /** Stream entries this instance flushed to the database (superseded ones included). */
  readonly flushed: number
  /** Rate of `flushed` over the last 10 s. */
  readonly flushedPerSecond: number
  readonly batches: number
  /** Failed flush attempts that were retried. */
  readonly retries: number
  /** Writes this instance moved to the dead letters. */
  readonly deadLettered: number
  /** Writes this instance refused because the queue was full. */
  readonly refused: number
  /** Writes this instance reclaimed from dead consumers. */
  readonly claimed: number
  readonly consumer: string
  readonly flusher: 'running' | 'paused' | 'stopped'
}

export interface WriteBehindEvents {
  flush: { writes: number; keys: number; durationMs: number }
  retry: { attempt: number; delayMs: number; writes: number; transient: boolean; error: unknown }
  'dead-letter': { key: string; version: number; error: unknown }
  refused: { pending: number }
  claim: { writes: number }
  error: { operation: string; error: unknown }
}

export type WriteBehindEventName = keyof WriteBehindEvents

type WriteReply = [number | string, number | string, string?]
type StreamEntries = [string, string[] | null][]

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Durable write-behind: a write is acknowledged once it is in a Redis Stream (and, optionally,
 * fsynced or replicated), and a flusher in a consumer group moves it to the database at least
 * once, coalesced by key, one transaction per batch, idempotently (version-guarded upserts).
 *
 * - Crash safety: a write is XACKed only after its database commit; a restarted consumer re-reads
 *   its own pending writes and writes idle on a dead consumer are reclaimed (XAUTOCLAIM).
 * - Read-your-writes: until flushed, `read(id)` returns the pending value from any instance.
 * - Backpressure: above `maxPending` writes are refused with `WriteBehindFullError` (HTTP 503).
 * - Failures: retried with exponential backoff; a write failing `maxAttempts` times for a reason
 *   other than a database outage goes to a dead-letter stream (see {@link DeadLetters}).
 *
 * What an acknowledged write survives depends on Redis and on `waitReplicas` / `waitAof`:
 * - neither (default): the write is in the Redis primary's memory. It survives the crash of any
 *   application process, a database outage and a Redis restart only as far as Redis persistence
 *   goes (`appendonly yes` + `appendfsync always` loses nothing; `everysec` up to ~1 s of writes;
 *   RDB snapshots everything since the last snapshot).
 * - `waitReplicas: n`: also in the memory of `n` replicas (`WAIT`), so it survives losing the
 *   primary when a replica takes over; a replica missing within `waitTimeout` fails the write with
 *   a 503, though the write may still be applied (the client should retry; versions make that safe).
 * - `waitAof: { local: 1, replicas: n }`: fsynced to the append-only file on the primary (and on
 *   `n` replicas) before the acknowledgement (`WAITAOF`, Redis >= 7.2 only; `connect()` refuses it
 *   on an older server, e.g. the 7.0 this project is tested on).
 *
 * @example
 * const writes = createWriteBehind(itemsRepository, { name: 'items', url: process.env.REDIS_URL })
 * await writes.connect()
 * const saved = await writes.write({ id: 7, name: 'lamp', version: 0 }, { baseVersion: current.version })
 * const pending = await writes.read(7) // { op: 'upsert', version: saved.version, entity: saved }
 * await writes.close() // drains what this instance took
 */
export class WriteBehind<T, Id extends WriteId = WriteId> {
  readonly options: ResolvedWriteBehindOptions<T, Id>
  readonly keys: WriteBehindKeys
  readonly deadLetters: DeadLetters
  readonly #repository: WriteRepository<T, Id>
  readonly #client: StrategyRedisClient
  readonly #owned: StrategyRedisClient[] = []
  readonly #events = new EventEmitter()
  #reader: StrategyRedisClient | undefined
  #connecting: Promise<void> | undefined
  #loop: Promise<void> | undefined
  #stopping = false
  #closed = false
  #paused = false
  #ownPendingDirty = true
  #lastClaim = 0
  #lastWrittenId: string | undefined
  #attempts = new Map<string, number>()
  #rate: { at: number; count: number }[] = []
  #counters = { flushed: 0, batches: 0, retries: 0, deadLettered: 0, refused: 0, claimed: 0 }

  constructor(repository: WriteRepository<T, Id>, options: WriteBehindOptions<T, Id> = {}) {
    this.#repository = repository
    this.options = resolveWriteBehindOptions(options)
    this.keys = writeBehindKeys(this.options.prefix, this.options.name)
    // Connection errors surface on the calls that fail; the listener keeps them from crashing the process.
    this.#events.on('error', () => {})
    if (this.options.client !== undefined) {
      this.#client = this.options.client
    } else {
      this.#client = this.#newClient()
    }
    this.deadLetters = new DeadLetters(this.#client, this.keys, this.options.timeout)
  }

  #newClient(): StrategyRedisClient {
    const client = createStrategyClient(this.options.url, (error) =>
      this.#emit('error', { operation: 'connection', error }),
    )
    this.#owned.push(client)
    return client
  }

  /** Connect, create the consumer group, check durability settings, start the flusher. Idempotent. */
  connect(): Promise<void> {
    this.#connecting ??= this.#connect().catch((error: unknown) => {
      // A failed start may be retried by the next call.
      this.#connecting = undefined
      throw error
    })
    return this.#connecting
  }

  /** Connected, or a 503 after `timeout`: a request never waits on a Redis that is not there. */
  async #ready(operation: string): Promise<void> {
    if (this.#client.isOpen && this.#connecting !== undefined) return this.#connecting
    let timer: NodeJS.Timeout | undefined
    const connecting = this.connect()
    try {
      await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new WriteBehindUnavailableError(
                  operation,
                  `not connected to Redis within ${this.options.timeout} ms`,
                ),
              ),
            this.options.timeout,
          )
        }),
      ])
    } catch (error) {
      connecting.catch(() => {})
      if (error instanceof WriteBehindUnavailableError) throw error
      throw new WriteBehindUnavailableError(
        operation,
        error instanceof Error ? error.message : String(error),
        {
          cause: error,
        },
      )
    } finally {
      clearTimeout(timer)
    }
  }

  async #connect(): Promise<void> {
    if (!this.#client.isOpen) await this.#client.connect()
    if (this.options.waitAof !== undefined) await this.#checkWaitAof()
    await this.#createGroup()
    if (this.options.flusher) this.start()
  }

  async #createGroup(): Promise<void> {
    try {
      await call(
        this.#client,
        ['XGROUP', 'CREATE', this.keys.stream, this.options.group, '0', 'MKSTREAM'],
        this.options.timeout,
        'connect',
      )
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error
    }
  }

  async #checkWaitAof(): Promise<void> {
    const info = await call<string>(this.#client, ['INFO', 'server'], this.options.timeout, 'connect')
    const version = /redis_version:(\d+)\.(\d+)/.exec(String(info))
    const major = Number(version?.[1] ?? 0)
    const minor = Number(version?.[2] ?? 0)
    if (major < 7 || (major === 7 && minor < 2)) {
      throw new InvalidOptionError(
        'waitAof',
        this.options.waitAof,
        `a Redis server >= 7.2 (this one is ${version ? `${major}.${minor}` : 'unknown'}); use "waitReplicas" or run Redis with appendfsync always instead`,
      )
    }
  }

  /**
   * Accept a write: durable in Redis (and visible to `read`) when this resolves. Returns the entity
   * with the version write-behind assigned.
   *
   * @throws WriteBehindFullError when `maxPending` writes are waiting (HTTP 503)
   * @throws WriteBehindUnavailableError when Redis cannot take the write (HTTP 503)
   */
  async write(entity: T, options: WriteOptions = {}): Promise<T> {
    const id = this.options.idOf(entity)
    const version = await this.#enqueue(id, 'u', this.options.encode(entity), options.baseVersion ?? 0, false)
    return this.options.withVersion(entity, version as number)
  }

  /**
   * {@link write} for an entity that must still exist: `undefined` (nothing written) when a delete
   * of it is pending, so an update racing a delete cannot bring the entity back.
   */
  async update(entity: T, options: WriteOptions = {}): Promise<T | undefined> {
    const id = this.options.idOf(entity)
    const version = await this.#enqueue(id, 'u', this.options.encode(entity), options.baseVersion ?? 0, true)
    return version === undefined ? undefined : this.options.withVersion(entity, version)
  }

  /** Accept a delete; the same guarantees as {@link write}. Returns the version of the delete. */
  async delete(id: Id, options: WriteOptions = {}): Promise<number> {
    return (await this.#enqueue(id, 'd', '', options.baseVersion ?? 0, false)) as number
  }

  async #enqueue(
    id: Id,
    op: 'u' | 'd',
    body: string,
    baseVersion: number,
    update: boolean,
  ): Promise<number | undefined> {
    if (this.#closed) throw new WriteBehindClosedError()
    await this.#ready('write')
    const reply = await evalScript<WriteReply>(
      this.#client,
      WRITE_SCRIPT,
      [this.keys.stream, this.keys.pending, this.keys.versions],
      [
        String(id),
        op,
        body,
        String(baseVersion),
        String(this.options.maxPending),
        JSON.stringify(id),
        'next',
        update ? '1' : '0',
      ],
      this.options.timeout,
      'write',
    )
    const status = Number(reply[0])
    if (status === -2) return undefined
    if (status === -1) {
      this.#counters.refused++
      const pending = Number(reply[1])
      this.#emit('refused', { pending })
      throw new WriteBehindFullError(pending, this.options.maxPending, this.options.retryAfter)
    }
    const streamId = String(reply[2])
    if (this.#lastWrittenId === undefined || compareStreamIds(streamId, this.#lastWrittenId) > 0) {
      this.#lastWrittenId = streamId
    }
    await this.#waitDurable()
    return Number(reply[1])
  }

  async #waitDurable(): Promise<void> {
    const { waitReplicas, waitAof, waitTimeout } = this.options
    const deadline = waitTimeout + this.options.timeout
    if (waitReplicas > 0) {
      const acked = Number(
        await call<number>(
          this.#client,
          ['WAIT', String(waitReplicas), String(waitTimeout)],
          deadline,
          'write',
          this.keys.stream,
        ),
      )
      if (acked < waitReplicas) {
        throw new WriteBehindUnavailableError(
          'write',
          `only ${acked} of ${waitReplicas} replicas acknowledged it within ${waitTimeout} ms (option "waitReplicas"); it may still be applied`,
        )
      }
    }
    if (waitAof !== undefined) {
      const reply = await call<[number, number]>(
        this.#client,
        ['WAITAOF', String(waitAof.local), String(waitAof.replicas), String(waitTimeout)],
        deadline,
        'write',
        this.keys.stream,
      )
      if (Number(reply[0]) < waitAof.local || Number(reply[1]) < waitAof.replicas) {
        throw new WriteBehindUnavailableError(
          'write',
          `AOF fsync acknowledged by ${reply[0]} local / ${reply[1]} replicas, wanted ${waitAof.local} / ${waitAof.replicas} (option "waitAof"); it may still be applied`,
        )
      }
    }
  }

  /** The pending write of an id, if one is on its way to the database. */
  async read(id: Id): Promise<PendingWrite<T> | undefined> {
    await this.#ready('read')
    const raw = await call<string | null>(
      this.#client,
      ['HGET', this.keys.pending, String(id)],
      this.options.timeout,
      'read',
    )
    return raw === null ? undefined : this.#parsePending(raw)
  }

  /** {@link read} for many ids in one round trip, in the order of `ids`. */
  async readMany(ids: readonly Id[]): Promise<(PendingWrite<T> | undefined)[]> {
    if (ids.length === 0) return []
    await this.#ready('read')
    const raws = await call<(string | null)[]>(
      this.#client,
      ['HMGET', this.keys.pending, ...ids.map(String)],
      this.options.timeout,
      'read',
    )
    return raws.map((raw) => (raw === null ? undefined : this.#parsePending(raw)))
  }

  #parsePending(raw: string): PendingWrite<T> {
    const first = raw.indexOf('|')
    const version = Number(raw.slice(0, first))
    if (raw.charAt(first + 1) === 'd') return { op: 'delete', version }
    return {
      op: 'upsert',
      version,
      entity: this.options.withVersion(this.options.decode(raw.slice(first + 3)), version),
    }
  }

  /** Start the flusher (done by `connect()` unless `flusher: false`). */
  start(): void {
    if (this.#loop !== undefined || this.#closed) return
    this.#stopping = false
    this.#paused = false
    this.#loop = this.#run().finally(() => {
      this.#loop = undefined
    })
  }

  /** Stop taking new batches (the batch in progress finishes). Writes are still accepted. */
  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
  }

  /**
   * Resolve once every write this instance accepted so far is in the database (or dead-lettered),
   * flushing here when this instance's flusher is not running.
   *
   * @throws WriteBehindDrainTimeoutError after `timeout` (default `drainTimeout`)
   */
  async flush(timeout: Duration = this.options.drainTimeout): Promise<void> {
    const timeoutMs = parseDuration(timeout, 'timeout')
    const target = this.#lastWrittenId
    if (target === undefined) return
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const oldest = await call<StreamEntries>(
        this.#client,
        ['XRANGE', this.keys.stream, '-', target, 'COUNT', '1'],
        this.options.timeout,
        'flush',
      )
      if (oldest.length === 0) return
      if (Date.now() >= deadline) {
        const pending = Number(
          await call<number>(this.#client, ['XLEN', this.keys.stream], this.options.timeout, 'flush'),
        )
        throw new WriteBehindDrainTimeoutError(timeoutMs, pending)
      }
      if (this.#loop === undefined || this.#paused) {
        const worked = await this.#step(0, deadline)
        if (!worked) await sleep(10)
      } else {
        await sleep(10)
      }
    }
  }

  /** Counters of this instance plus the queue's state in Redis. */
  async stats(): Promise<WriteBehindStats> {
    await this.#ready('stats')
    const [pending, oldest, deadLetters] = await Promise.all([
      call<number>(this.#client, ['XLEN', this.keys.stream], this.options.timeout, 'stats'),
      call<StreamEntries>(
        this.#client,
        ['XRANGE', this.keys.stream, '-', '+', 'COUNT', '1'],
        this.options.timeout,
        'stats',
      ),
      call<number>(this.#client, ['XLEN', this.keys.deadLetters], this.options.timeout, 'stats'),
    ])
    const first = oldest[0]
    const now = Date.now()
    this.#rate = this.#rate.filter((sample) => sample.at > now - RATE_WINDOW_MS)
    const recent = this.#rate.reduce((sum, sample) => sum + sample.count, 0)
    return {
      pending: Number(pending),
      lagMs: first === undefined ? 0 : Math.max(0, now - streamIdTime(first[0])),
      deadLetters: Number(deadLetters),
      ...this.#counters,
      flushedPerSecond: recent / (RATE_WINDOW_MS / 1000),
      consumer: this.options.consumer,
      flusher: this.#loop === undefined ? 'stopped' : this.#paused ? 'paused' : 'running',
    }
  }

  /**
   * Refuse new writes, stop the flusher, drain what this instance accepted and took (bounded by
   * `drainTimeout`; whatever is left stays durable in Redis for the next flusher), disconnect.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#stopping = true
    await this.#loop
    if (this.#connecting !== undefined && this.options.flusher) {
      try {
        await this.#connecting
        const deadline = Date.now() + this.options.drainTimeout
        // What this consumer took (possibly written elsewhere), then what this instance wrote.
        this.#ownPendingDirty = true
        while (this.#ownPendingDirty && Date.now() < deadline) {
          const own = await this.#readGroup('0', 0)
          if (own.length === 0) this.#ownPendingDirty = false
          else await this.#process(own, deadline)
        }
        await this.flush(Math.max(0, deadline - Date.now()))
      } catch (error) {
        this.#emit('error', { operation: 'close', error })
      }
    }
    this.#stopping = true
    for (const client of [...this.#owned, this.#reader]) {
      try {
        client?.destroy()
      } catch {
        // Already closed.
      }
    }
  }

  on<E extends WriteBehindEventName>(event: E, listener: (payload: WriteBehindEvents[E]) => void): this {
    this.#events.on(event, listener)
    return this
  }

  off<E extends WriteBehindEventName>(event: E, listener: (payload: WriteBehindEvents[E]) => void): this {
    this.#events.off(event, listener)
    return this
  }

  #emit<E extends WriteBehindEventName>(event: E, payload: WriteBehindEvents[E]): void {
    this.#events.emit(event, payload)
  }

  async #run(): Promise<void> {
    let failures = 0
    while (!this.#stopping) {
      if (this.#paused) {
        await sleep(20)
        continue
      }
      try {
        await this.#step(this.options.block, Number.POSITIVE_INFINITY)
        failures = 0
      } catch (error) {
        failures++
        this.#ownPendingDirty = true
        this.#emit('error', { operation: 'flush', error })
        // A Redis that restarted without persistence lost the group (and the writes with it).
        if (String((error as Error).message).includes('NOGROUP')) await this.#createGroup().catch(() => {})
        await sleep(this.#backoff(failures))
      }
    }
  }

  /** One round of work: own pending first, then reclaim, then new writes. True when it flushed something. */
  async #step(block: number, deadline: number): Promise<boolean> {
    if (this.#ownPendingDirty) {
      const own = await this.#readGroup('0', 0)
      if (own.length > 0) {
        await this.#process(own, deadline)
        return true
      }
      this.#ownPendingDirty = false
    }
    const now = Date.now()
    if (now - this.#lastClaim >= this.options.claimInterval) {
      this.#lastClaim = now
      const claimed = await this.#claim()
      if (claimed.length > 0) {
        this.#counters.claimed += claimed.length
        this.#emit('claim', { writes: claimed.length })
        await this.#process(claimed, deadline)
        return true
      }
    }
    const fresh = await this.#readGroup('>', block)
    if (fresh.length === 0) return false
    await this.#process(fresh, deadline)
    return true
  }

  async #readerClient(): Promise<StrategyRedisClient> {
    if (this.#reader === undefined) {
      const onError = (error: unknown) => this.#emit('error', { operation: 'flusher connection', error })
      const given = this.options.client
      if (given?.duplicate !== undefined) {
        this.#reader = given.duplicate({ disableOfflineQueue: true })
        this.#reader.on('error', onError as (...args: never[]) => void)
      } else {
        this.#reader = createStrategyClient(this.options.url, onError)
      }
    }
    if (!this.#reader.isOpen) await this.#reader.connect()
    return this.#reader
  }

  async #readGroup(from: '0' | '>', block: number): Promise<StreamWrite[]> {
    const args = [
      'XREADGROUP',
      'GROUP',
      this.options.group,
      this.options.consumer,
      'COUNT',
      String(this.options.batchSize),
    ]
    if (block > 0) args.push('BLOCK', String(block))
    args.push('STREAMS', this.keys.stream, from)
    // Blocking reads get their own connection so they never delay writes on the shared one.
    const client = block > 0 ? await this.#readerClient() : this.#client
    const reply = await call<[string, StreamEntries][] | null>(
      client,
      args,
      this.options.timeout + block,
      'flush read',
    )
    const entries = reply?.[0]?.[1] ?? []
    return this.#parseEntries(entries)
  }

  async #claim(): Promise<StreamWrite[]> {
    const reply = await call<[string, StreamEntries, string[]?]>(
      this.#client,
      [
        'XAUTOCLAIM',
        this.keys.stream,
        this.options.group,
        this.options.consumer,
        String(this.options.claimIdle),
        '0-0',
        'COUNT',
        String(this.options.batchSize),
      ],
      this.options.timeout,
      'flush claim',
    )
    return this.#parseEntries(reply[1])
  }

  #parseEntries(entries: StreamEntries): StreamWrite[] {
    const writes: StreamWrite[] = []
    const orphans: string[] = []
    for (const [streamId, fields] of entries) {
      if (fields === null) {
        orphans.push(streamId)
        continue
      }
      const map = fieldMap(fields)
      writes.push({
        streamId,
        key: map.get('k') ?? '',
        op: map.get('o') === 'd' ? 'delete' : 'upsert',
        version: Number(map.get('v') ?? 0),
        id: JSON.parse(map.get('i') ?? 'null') as WriteId,
        body: map.get('b') ?? '',
      })
    }
    // Entries deleted while still pending (never by this code, but by hand): acknowledge them away.
    if (orphans.length > 0) {
      void call(
        this.#client,
        ['XACK', this.keys.stream, this.options.group, ...orphans],
        this.options.timeout,
        'flush ack',
      ).catch((error: unknown) => this.#emit('error', { operation: 'flush ack', error }))
    }
    return writes
  }

  /** Flush writes until they are all in the database (or dead-lettered), retrying with backoff. */
  async #process(writes: StreamWrite[], deadline: number): Promise<void> {
    let remaining = writes
    let attempt = 0
    while (remaining.length > 0) {
      const latest = coalesce(remaining)
      const started = Date.now()
      try {
        await this.#commit(latest)
      } catch (error) {
        attempt++
        this.#counters.retries++
        const transient = this.options.isTransientError(error)
        if (!transient) remaining = await this.#isolate(remaining, latest)
        const delayMs = this.#backoff(attempt)
        this.#emit('retry', { attempt, delayMs, writes: remaining.length, transient, error })
        if (remaining.length === 0) return
        if (this.#stopping && deadline === Number.POSITIVE_INFINITY) return
        if (Date.now() + delayMs >= deadline) return
        await this.#keepClaimed(remaining)
        await sleep(delayMs)
        continue
      }
      await this.#ack(remaining, latest)
      for (const write of remaining) this.#attempts.delete(write.streamId)
      this.#counted(remaining.length)
      this.#emit('flush', { writes: remaining.length, keys: latest.length, durationMs: Date.now() - started })
      return
    }
  }

  /**
   * After a non-transient failure of a whole batch: flush each key alone, so one bad write cannot
   * hold back the others. Returns the writes still failing and not yet dead-lettered.
   */
  async #isolate(writes: StreamWrite[], latest: StreamWrite[]): Promise<StreamWrite[]> {
    const byKey = new Map<string, StreamWrite[]>()
    for (const write of writes) {
      const list = byKey.get(write.key)
      if (list === undefined) byKey.set(write.key, [write])
      else list.push(write)
    }
    const still: StreamWrite[] = []
    for (const last of latest) {
      const group = byKey.get(last.key) ?? [last]
      try {
        await this.#commit([last])
        await this.#ack(group, [last])
        this.#counted(group.length)
        continue
      } catch (error) {
        if (this.options.isTransientError(error)) {
          still.push(...group)
          continue
        }
        const attempts = (this.#attempts.get(last.streamId) ?? 0) + 1
        this.#attempts.set(last.streamId, attempts)
        if (attempts < this.options.maxAttempts) {
          still.push(...group)
          continue
        }
        await this.#deadLetter(last, error, attempts)
        const superseded = group.filter((write) => write !== last)
        if (superseded.length > 0) await this.#ack(superseded, [])
      }
    }
    return still
  }

  async #commit(latest: readonly StreamWrite[]): Promise<void> {
    const batch = this.#toBatch(latest)
    await this.#repository.apply(batch)
    if (this.options.afterCommit === undefined) return
    try {
      await this.options.afterCommit(batch)
    } catch (error) {
      this.#emit('error', { operation: 'afterCommit', error })
    }
  }

  #toBatch(latest: readonly StreamWrite[]): WriteBatch<T, Id> {
    const upserts: T[] = []
    const deletes: VersionedDelete<Id>[] = []
    for (const write of latest) {
      if (write.op === 'delete') deletes.push({ id: write.id as Id, version: write.version })
      else upserts.push(this.options.withVersion(this.options.decode(write.body), write.version))
    }
    return { upserts, deletes }
  }

  async #ack(writes: readonly StreamWrite[], latest: readonly StreamWrite[]): Promise<void> {
    const args = [this.options.group, String(writes.length), ...writes.map((write) => write.streamId)]
    for (const write of latest) args.push(write.key, String(write.version))
    await evalScript(
      this.#client,
      ACK_SCRIPT,
      [this.keys.stream, this.keys.pending],
      args,
      this.options.timeout,
      'flush ack',
    )
    this.#counters.batches++
  }

  async #deadLetter(write: StreamWrite, error: unknown, attempts: number): Promise<void> {
    await evalScript(
      this.#client,
      DEAD_LETTER_SCRIPT,
      [this.keys.stream, this.keys.pending, this.keys.deadLetters],
      [
        this.options.group,
        write.streamId,
        write.key,
        write.op === 'delete' ? 'd' : 'u',
        String(write.version),
        JSON.stringify(write.id),
        write.body,
        error instanceof Error ? error.message : String(error),
        String(attempts),
        String(this.options.maxDeadLetters),
      ],
      this.options.timeout,
      'dead-letter',
    )
    this.#attempts.delete(write.streamId)
    this.#counters.deadLettered++
    this.#emit('dead-letter', { key: write.key, version: write.version, error })
  }

  /** Reset the idle time of writes being retried, so other flushers do not reclaim them meanwhile. */
  async #keepClaimed(writes: readonly StreamWrite[]): Promise<void> {
    try {
      await call(
        this.#client,
        [
          'XCLAIM',
          this.keys.stream,
          this.options.group,
          this.options.consumer,
          '0',
          ...writes.map((w) => w.streamId),
          'JUSTID',
        ],
        this.options.timeout,
        'flush claim',
      )
    } catch (error) {
      this.#emit('error', { operation: 'flush claim', error })
    }
  }

  #counted(count: number): void {
    this.#counters.flushed += count
    const now = Date.now()
    const last = this.#rate.at(-1)
    if (last !== undefined && now - last.at < 1_000) last.count += count
    else this.#rate.push({ at: now, count })
    if (this.#rate.length > 64) this.#rate.splice(0, this.#rate.length - 64)
  }

  #backoff(attempt: number): number {
    const base = Math.min(
      this.options.maxRetryDelay,
      this.options.retryDelay * 2 ** Math.min(attempt - 1, 20),
    )
    return Math.round(base / 2 + (Math.random() * base) / 2)
  }
}

function compareStreamIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number)
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number)
  return aMs - bMs || aSeq - bSeq
}

/**
 * Create a {@link WriteBehind} over a repository. Call `connect()` before the first write (writes
 * also connect lazily).
 *
 * @example
 * const writes = createWriteBehind(repository, { name: 'items', maxPending: 50_000 })
 */
export function createWriteBehind<T, Id extends WriteId = WriteId>(
  repository: WriteRepository<T, Id>,
  options: WriteBehindOptions<T, Id> = {},
): WriteBehind<T, Id> {
  return new WriteBehind(repository, options)
}
