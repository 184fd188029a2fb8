import { randomBytes } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'
import { LRUCache } from 'lru-cache'
import { CacheClosedError, CacheLoaderTimeoutError, CacheStoreError, InvalidOptionError } from '../errors.js'
import type { Codec } from './codec/codec.js'
import { DEFAULT_TAG_CACHE_SIZE, HEARTBEATS_PER_TRUST_WINDOW } from './defaults.js'
import { encodePayload, etagOf, isTombstone, isValidEtag, type StoredValue } from './entry.js'
import { assertKey, assertTag } from './keys.js'
import { NamespaceState } from './namespace-state.js'
import type { ResolvedCacheOptions } from './options.js'
import { entrySize, type L1Record, type MemoryStore } from './stores/memory/memory-store.js'
import type { RedisStore, StoredRead } from './stores/redis/redis-store.js'
import type {
  CacheEntry,
  CacheEventName,
  CacheEvents,
  CacheListener,
  CacheStats,
  EntryResult,
  GetOrSetOptions,
  Loader,
  LoaderContext,
  SetOptions,
} from './types.js'
import { parseDuration, type Duration } from '../util/duration.js'

let lastWrite = 0

/** Strictly increasing wall-clock milliseconds (fractional within one ms): versions, createdAt, tag times. */
export function writeClock(): number {
  const now = Date.now()
  lastWrite = now > lastWrite ? now : lastWrite + 0.001
  return lastWrite
}

/** The creation time of an explicit `set`: the caller's read time (never in the future) or now. */
function setCreatedAt(readAt: number | undefined): number {
  const now = writeClock()
  if (readAt === undefined) return now
  if (!Number.isFinite(readAt) || readAt < 0) {
    throw new InvalidOptionError('createdAt', readAt, 'a non-negative epoch time in ms')
  }
  return readAt < now ? readAt : now
}

/** What a read found, by tier; `stale` may be served while revalidating, `fallback` only on errors. */
export interface ReadOutcome {
  result: EntryResult<unknown> | undefined
  stale: CacheEntry | undefined
  fallback: CacheEntry | undefined
}

interface Flight {
  readonly promise: Promise<EntryResult<unknown> | undefined>
  revoked: boolean
  readonly background: boolean
  abort: AbortController
}

interface Message {
  i: string
  t: 'h' | 's' | 'd' | 'n' | 't'
  s?: number
  k?: string[]
  n?: string
  g?: number
  tags?: string[]
  at?: number
}

type Listeners = { [E in CacheEventName]?: CacheListener<E>[] }

const EVENT_NAMES: readonly CacheEventName[] = [
  'hit',
  'miss',
  'stale',
  'set',
  'delete',
  'load',
  'error',
  'circuit',
  'coherence',
]
const NOOP = (): void => {}
const SOFT_TIMEOUT = Symbol('soft timeout')
const RECENT_KEYS_LIMIT = 10_000

/** What `get` returns for a read: the fresh entry's value, else an error fallback's, else nothing. */
function valueOf(outcome: ReadOutcome): unknown {
  return (outcome.result?.entry ?? outcome.fallback)?.value
}

/**
 * The engine behind every cache view (`createCache()` and its namespaces): tiers, fills,
 * coherence, counters. Views only bind a namespace.
 */
export class CacheCore {
  readonly options: ResolvedCacheOptions
  readonly l1: MemoryStore | undefined
  readonly l2: RedisStore | undefined
  readonly codec: Codec
  readonly instanceId = randomBytes(8).toString('hex')
  readonly #selfPrefix = `{"i":"${this.instanceId}"`
  readonly #selfHeartbeat = `{"i":"${this.instanceId}","t":"h"`
  readonly root: NamespaceState
  readonly base: string
  readonly channel: string
  readonly #namespaces = new Map<string, NamespaceState>()
  readonly #flights = new Map<string, Flight>()
  readonly #waiters = new Map<string, Set<() => void>>()
  readonly #genFetches = new Map<NamespaceState, Promise<void>>()
  readonly tagTimes: Map<string, number> | LRUCache<string, number>
  readonly #listeners: Listeners = {}
  readonly #channels = new Map<CacheEventName, diagnostics.Channel>()
  readonly #hitChannel: diagnostics.Channel
  #hitListeners: CacheListener<'hit'>[] = []
  #heartbeat: NodeJS.Timeout | undefined
  /** L1 records are served fresh only before this instant (always, without a shared tier). */
  trustedUntil: number
  /** Bumped on every resynchronisation; L1 records of an older epoch are never served fresh. */
  epoch = 1
  #trustLost = false
  /** Coherence messages received that dropped keys; `#recent` maps a key to the last one. */
  #seq = 0
  #recent = new Map<string, number>()
  #recentFloor = 0
  closed = false

  readonly counters = {
    l1Hits: 0,
    l1Misses: 0,
    l1Stale: 0,
    l2Hits: 0,
    l2Misses: 0,
    l2Stale: 0,
    l2Errors: 0,
    loads: 0,
    loadErrors: 0,
    loadTimeouts: 0,
    sets: 0,
    deletes: 0,
  }

  constructor(options: ResolvedCacheOptions) {
    this.options = options
    this.l1 = options.l1?.factory()
    this.l2 = options.l2?.factory()
    this.codec = this.l2?.options.codec ?? options.codec
    this.base = `${options.prefix}:${options.appVersion}`
    this.channel = `${this.base}:bus`
    this.root = new NamespaceState(this.base, '', undefined)
    this.#namespaces.set('', this.root)
    this.tagTimes =
      this.l2 === undefined ? new Map() : new LRUCache<string, number>({ max: DEFAULT_TAG_CACHE_SIZE })
    for (const name of EVENT_NAMES) this.#channels.set(name, diagnostics.channel(`hotpath:cache:${name}`))
    this.#hitChannel = this.#channels.get('hit') as diagnostics.Channel
    if (this.l2 === undefined) {
      this.trustedUntil = Number.POSITIVE_INFINITY
      this.root.gen = 0
    } else {
      this.trustedUntil = 0
      this.l2.hooks = {
        onError: (operation, error) => {
          this.counters.l2Errors++
          this.emit('error', { operation, error })
        },
        onCircuit: (state) => this.emit('circuit', { state }),
      }
      this.#startCoherence()
    }
  }

  // ---------------------------------------------------------------- events

  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): void {
    const list = (this.#listeners[event] ?? []) as CacheListener<E>[]
    ;(this.#listeners as Record<string, unknown>)[event] = [...list, listener]
    if (event === 'hit') this.#hitListeners = this.#listeners.hit ?? []
  }

  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): void {
    const list = (this.#listeners[event] ?? []) as CacheListener<E>[]
    ;(this.#listeners as Record<string, unknown>)[event] = list.filter((l) => l !== listener)
    if (event === 'hit') this.#hitListeners = this.#listeners.hit ?? []
  }

  emit<E extends CacheEventName>(event: E, payload: CacheEvents[E]): void {
    const list = this.#listeners[event] as CacheListener<E>[] | undefined
    if (list !== undefined) {
      for (const listener of list) {
        try {
          listener(payload)
        } catch {
          NOOP()
        }
      }
    }
    const channel = this.#channels.get(event)
    if (channel?.hasSubscribers) channel.publish(payload)
  }

  #wants(event: CacheEventName): boolean {
    return (this.#listeners[event]?.length ?? 0) !== 0 || this.#channels.get(event)?.hasSubscribers === true
  }

  /** Hot-path helper: only builds the payload when someone listens. */
  hitL1(key: string): void {
    this.counters.l1Hits++
    if (this.#hitListeners.length !== 0 || this.#hitChannel.hasSubscribers)
      this.emit('hit', { key, tier: 'l1' })
  }

  // ---------------------------------------------------------------- namespaces

  namespaceState(path: string, parent: NamespaceState, name: string): NamespaceState {
    let state = this.#namespaces.get(path)
    if (state === undefined) {
      state = new NamespaceState(this.base, name, parent)
      if (this.l2 === undefined) state.gen = 0
      this.#namespaces.set(path, state)
    }
    return state
  }

  /** Make sure the generations of a namespace chain are known (fetched when untrusted or unknown). */
  prepare(ns: NamespaceState): Promise<void> | undefined {
    if (this.l2 === undefined) return undefined
    if (ns.known() && Date.now() < this.trustedUntil) return undefined
    let fetch = this.#genFetches.get(ns)
    if (fetch === undefined) {
      const l2 = this.l2
      fetch = (async () => {
        try {
          const chain = ns.chain()
          const gens = await l2.readNumbers(chain.map((state) => state.genKey))
          chain.forEach((state, index) => state.setGen(gens[index] ?? 0))
        } finally {
          this.#genFetches.delete(ns)
        }
      })()
      this.#genFetches.set(ns, fetch)
    }
    return fetch
  }

  // ---------------------------------------------------------------- tags

  /** Latest invalidation time among an entry's tags, or undefined when one is not known locally. */
  #tagTime(tags: readonly string[]): number | undefined {
    let latest = 0
    for (const tag of tags) {
      const time = this.tagTimes.get(tag)
      if (time === undefined) {
        if (this.l2 === undefined) continue
        return undefined
      }
      if (time > latest) latest = time
    }
    return latest
  }

  async #fetchTags(tags: readonly string[]): Promise<void> {
    const l2 = this.l2
    if (l2 === undefined) return
    const missing = tags.filter(
      (tag) => this.tagTimes.get(tag) === undefined || Date.now() >= this.trustedUntil,
    )
    if (missing.length === 0) return
    const times = await l2.readNumbers(missing.map((tag) => this.tagKey(tag)))
    missing.forEach((tag, index) => this.#learnTag(tag, times[index] ?? 0))
  }

  #learnTag(tag: string, time: number): void {
    const known = this.tagTimes.get(tag)
    if (known === undefined || time > known) this.tagTimes.set(tag, time)
  }

  tagKey(tag: string): string {
    return `${this.base}:tag:${tag}`
  }

  /** True when an entry was invalidated by one of its tags (tag times must be known). */
  tagInvalidated(entry: CacheEntry): boolean {
    if (entry.tags.length === 0) return false
    const time = this.#tagTime(entry.tags)
    return time !== undefined && entry.createdAt <= time
  }

  // ---------------------------------------------------------------- reads

  /** The L1 fast path: a record that may be served fresh right now, or undefined. */
  freshL1(ns: NamespaceState, l1Key: string, now: number): L1Record | undefined {
    const record = this.l1?.record(l1Key)
    if (
      record === undefined ||
      now >= record.entry.freshUntil ||
      record.stamp !== ns.stamp ||
      record.epoch !== this.epoch ||
      now >= this.trustedUntil
    ) {
      return undefined
    }
    if (record.entry.tags.length !== 0) {
      const time = this.#tagTime(record.entry.tags)
      if (time === undefined || record.entry.createdAt <= time) return undefined
    }
    return record
  }

  /** A full read through the tiers. Never throws for store failures (they become counters/events). */
  async read(ns: NamespaceState, key: string, wantStale: boolean): Promise<ReadOutcome> {
    assertKey(key, this.options.maxKeyLength)
    this.#assertOpen()
    const l1Key = ns.l1Prefix + key
    const now = Date.now()
    const outcome: ReadOutcome = { result: undefined, stale: undefined, fallback: undefined }
    const record = this.l1?.record(l1Key)
    if (record !== undefined) {
      if (record.entry.tags.length !== 0 && this.l2 !== undefined && now < this.trustedUntil) {
        try {
          await this.#fetchTags(record.entry.tags)
        } catch {
          NOOP()
        }
      }
      const usable = record.stamp === ns.stamp && now < record.entry.staleUntil
      const trusted = record.epoch === this.epoch && now < this.trustedUntil
      const invalidated = this.tagInvalidated(record.entry)
      if (usable && trusted && !invalidated && this.#tagTime(record.entry.tags) !== undefined) {
        if (now < record.entry.freshUntil) {
          this.hitL1(key)
          outcome.result = { entry: record.entry, source: 'hit-l1' }
          return outcome
        }
        outcome.stale = record.entry
      } else if (usable && !invalidated) {
        outcome.fallback = record.entry
      }
    }
    this.counters.l1Misses++
    if (this.l1 !== undefined && this.#wants('miss')) this.emit('miss', { key, tier: 'l1' })
    if (this.l2 === undefined) {
      if (outcome.stale !== undefined) this.#countStale(key, 'l1')
      return outcome
    }
    try {
      const preparing = this.prepare(ns)
      if (preparing !== undefined) await preparing
      const stamp = ns.stamp
      const seq = this.#seq
      const read = await this.l2.read(ns.redisKey(key))
      if (read !== undefined && !isTombstone(read.value) && read.value.tags.length !== 0) {
        await this.#fetchTags(read.value.tags)
      }
      return this.#afterL2(key, l1Key, stamp, seq, read, outcome, wantStale)
    } catch (error) {
      if (!(error instanceof CacheStoreError)) this.emit('error', { operation: 'read', key, error })
      outcome.fallback ??= outcome.stale
      outcome.stale = undefined
      return outcome
    }
  }

  /**
   * `get` after an L1 miss: the value `read(ns, key, false)` would give, with fewer promises on the
   * common path (no L1 record, generations known and trusted): one store call, one `then`.
   */
  readValue(ns: NamespaceState, key: string): Promise<unknown> {
    const l2 = this.l2
    const l1Key = ns.l1Prefix + key
    if (
      l2 === undefined ||
      this.closed ||
      !ns.known() ||
      Date.now() >= this.trustedUntil ||
      (this.l1 !== undefined && this.l1.record(l1Key) !== undefined)
    ) {
      return this.read(ns, key, false).then(valueOf)
    }
    try {
      assertKey(key, this.options.maxKeyLength)
    } catch (error) {
      return Promise.reject(error)
    }
    this.counters.l1Misses++
    if (this.l1 !== undefined && this.#wants('miss')) this.emit('miss', { key, tier: 'l1' })
    const stamp = ns.stamp
    const seq = this.#seq
    return l2.read(ns.redisKey(key)).then(
      (read) =>
        read === undefined || isTombstone(read.value) || read.value.tags.length === 0
          ? this.#settleValue(key, l1Key, stamp, seq, read)
          : this.#fetchTags(read.value.tags).then(
              () => this.#settleValue(key, l1Key, stamp, seq, read),
              (error: unknown) => this.#readFailed(key, error),
            ),
      (error: unknown) => this.#readFailed(key, error),
    )
  }

  #settleValue(
    key: string,
    l1Key: string,
    stamp: number,
    seq: number,
    read: StoredRead | undefined,
  ): unknown {
    try {
      const outcome: ReadOutcome = { result: undefined, stale: undefined, fallback: undefined }
      return valueOf(this.#afterL2(key, l1Key, stamp, seq, read, outcome, false))
    } catch (error) {
      return this.#readFailed(key, error)
    }
  }

  #readFailed(key: string, error: unknown): undefined {
    if (!(error instanceof CacheStoreError)) this.emit('error', { operation: 'read', key, error })
    return undefined
  }

  /** Settle a read from what L2 returned (tag times already fetched). */
  #afterL2(
    key: string,
    l1Key: string,
    stamp: number,
    seq: number,
    read: StoredRead | undefined,
    outcome: ReadOutcome,
    wantStale: boolean,
  ): ReadOutcome {
    const now = Date.now()
    const value: StoredValue | undefined = read?.value
    if (value === undefined || isTombstone(value) || now >= value.staleUntil) {
      this.counters.l2Misses++
      this.emit('miss', { key, tier: 'l2' })
      // The shared tier is authoritative: what L1 still holds was deleted or replaced.
      outcome.stale = undefined
      outcome.fallback = undefined
      if (outcome.result === undefined && this.l1 !== undefined) this.l1.delete(l1Key)
      return outcome
    }
    // The shared tier answered: what L1 holds is superseded, it is no fallback any more.
    outcome.fallback = undefined
    if (this.tagInvalidated(value)) {
      this.counters.l2Misses++
      this.emit('miss', { key, tier: 'l2' })
      outcome.stale = undefined
      return outcome
    }
    this.#putL1(l1Key, value, read?.payloadBytes, stamp, seq)
    if (now < value.freshUntil) {
      this.counters.l2Hits++
      if (this.#wants('hit')) this.emit('hit', { key, tier: 'l2' })
      outcome.result = { entry: value, source: 'hit-l2' }
      outcome.stale = undefined
      return outcome
    }
    outcome.stale = value
    if (wantStale) this.#countStale(key, 'l2')
    return outcome
  }

  #countStale(key: string, tier: 'l1' | 'l2'): void {
    if (tier === 'l1') this.counters.l1Stale++
    else this.counters.l2Stale++
    this.emit('stale', { key, tier })
  }

  /**
   * Put an entry read or written through L2 into L1, unless a coherence message about that key
   * arrived since `seq` was taken: replies and messages travel on different connections, so an
   * older reply can arrive after the message that superseded it.
   */
  #putL1(
    l1Key: string,
    entry: CacheEntry,
    payloadBytes: number | undefined,
    stamp: number,
    seq: number,
    force = false,
  ): void {
    if (this.l1 === undefined) return
    if (seq < this.#recentFloor || (this.#recent.get(l1Key) ?? 0) > seq) return
    this.l1.put(l1Key, { entry, stamp, epoch: this.epoch }, entrySize(l1Key, entry, payloadBytes), force)
  }

  /** Read many keys: L1 first, then one MGET for the rest. */
  async readMany(ns: NamespaceState, keys: readonly string[]): Promise<(CacheEntry | undefined)[]> {
    this.#assertOpen()
    for (const key of keys) assertKey(key, this.options.maxKeyLength)
    const now = Date.now()
    const out: (CacheEntry | undefined)[] = new Array(keys.length).fill(undefined)
    const missing: number[] = []
    keys.forEach((key, index) => {
      const record = this.freshL1(ns, ns.l1Prefix + key, now)
      if (record !== undefined) {
        this.hitL1(key)
        out[index] = record.entry
      } else {
        this.counters.l1Misses++
        missing.push(index)
      }
    })
    if (missing.length === 0 || this.l2 === undefined) return out
    try {
      await this.prepare(ns)
      const stamp = ns.stamp
      const seq = this.#seq
      const reads = await this.l2.readMany(missing.map((index) => ns.redisKey(keys[index] as string)))
      const tags = new Set<string>()
      for (const read of reads) {
        if (read !== undefined && !isTombstone(read.value)) for (const tag of read.value.tags) tags.add(tag)
      }
      if (tags.size !== 0) await this.#fetchTags([...tags])
      reads.forEach((read, position) => {
        const index = missing[position] as number
        const key = keys[index] as string
        const value = read?.value
        if (
          value === undefined ||
          isTombstone(value) ||
          now >= value.freshUntil ||
          this.tagInvalidated(value)
        ) {
          this.counters.l2Misses++
          return
        }
        this.counters.l2Hits++
        this.#putL1(ns.l1Prefix + key, value, read?.payloadBytes, stamp, seq)
        out[index] = value
      })
    } catch (error) {
      if (!(error instanceof CacheStoreError)) this.emit('error', { operation: 'getMany', error })
    }
    return out
  }

  // ---------------------------------------------------------------- writes

  /** Build an entry (etag from the encoded payload) without storing it. */
  buildEntry<T>(
    value: T,
    options: SetOptions | undefined,
    createdAt: number,
    ttlOverride?: number,
  ): { entry: CacheEntry<T>; payload: Buffer | undefined } {
    const ttl =
      ttlOverride ?? (options?.ttl === undefined ? this.options.ttl : parseDuration(options.ttl, 'ttl'))
    const grace = options?.grace === undefined ? this.options.grace : parseDuration(options.grace, 'grace')
    const tags = options?.tags ?? []
    for (const tag of tags) assertTag(tag)
    // Whole milliseconds: integer times are stored as short decimals that decode without Number().
    const jitter = this.options.ttlJitter === 0 ? 0 : Math.floor(ttl * this.options.ttlJitter * Math.random())
    const freshUntil = createdAt + ttl - jitter
    let payload: Buffer | undefined
    let etag = options?.etag
    if (etag !== undefined && !isValidEtag(etag)) {
      throw new InvalidOptionError('etag', etag, 'a strong quoted entity tag such as \'"v42"\' (no spaces)')
    }
    if (etag === undefined || this.l2 !== undefined) payload = encodePayload(value, this.codec)
    etag ??= etagOf(payload as Buffer)
    const entry: CacheEntry<T> = Object.freeze({
      value,
      version: options?.version ?? createdAt,
      createdAt,
      freshUntil,
      staleUntil: freshUntil + grace,
      tags: Object.freeze([...tags]),
      etag,
    })
    return { entry, payload }
  }

  #message(type: Message['t'], extra: Omit<Message, 'i' | 't'>): string {
    return JSON.stringify({ i: this.instanceId, t: type, ...extra })
  }

  /** Revoke local fills of a key so they never write back what they loaded. */
  #revoke(l1Key: string): void {
    const flight = this.#flights.get(l1Key)
    if (flight !== undefined) flight.revoked = true
  }

  async set<T>(ns: NamespaceState, key: string, value: T, options?: SetOptions): Promise<CacheEntry<T>> {
    assertKey(key, this.options.maxKeyLength)
    this.#assertOpen()
    const { entry, payload } = this.buildEntry(value, options, setCreatedAt(options?.createdAt))
    const l1Key = ns.l1Prefix + key
    this.#revoke(l1Key)
    this.counters.sets++
    const stamp = ns.stamp
    const seq = this.#seq
    if (this.l2 !== undefined) {
      try {
        await this.prepare(ns)
        const written = await this.l2.write(ns.redisKey(key), entry, payload as Buffer, {
          mode: options?.version === undefined ? 'set' : 'set-versioned',
          channel: this.channel,
          message: this.#message('s', { k: [l1Key] }),
        })
        if (!written) return entry
      } catch (error) {
        this.l1?.delete(l1Key)
        throw error
      }
    }
    this.#putL1(l1Key, entry, payload?.byteLength, stamp, seq, options?.version === undefined)
    this.emit('set', { key })
    return entry
  }

  async setMany<T>(
    ns: NamespaceState,
    items: readonly { key: string; value: T; options?: SetOptions }[],
  ): Promise<void> {
    for (const item of items) assertKey(item.key, this.options.maxKeyLength)
    await this.prepare(ns)
    // Issued in one tick: node-redis pipelines them into one round trip.
    await Promise.all(items.map((item) => this.set(ns, item.key, item.value, item.options)))
  }

  async delete(ns: NamespaceState, keys: readonly string[]): Promise<void> {
    for (const key of keys) assertKey(key, this.options.maxKeyLength)
    this.#assertOpen()
    const l1Keys = keys.map((key) => ns.l1Prefix + key)
    for (const l1Key of l1Keys) {
      this.#revoke(l1Key)
      this.l1?.delete(l1Key)
    }
    this.counters.deletes += keys.length
    if (this.l2 !== undefined && keys.length !== 0) {
      await this.prepare(ns)
      const version = writeClock()
      const message = this.#message('d', { k: l1Keys })
      if (keys.length === 1) {
        await this.l2.remove(ns.redisKey(keys[0] as string), version, this.channel, message)
      } else {
        await this.l2.removeMany(
          keys.map((key) => ns.redisKey(key)),
          version,
          this.channel,
          message,
        )
      }
    }
    for (const key of keys) this.emit('delete', { key })
  }

  async expire(ns: NamespaceState, key: string): Promise<void> {
    const outcome = await this.read(ns, key, true)
    const entry = outcome.result?.entry ?? outcome.stale
    if (entry === undefined) return
    // Date.now(), not the write clock (which may run a fraction of a ms ahead): stale from now on.
    const now = Date.now()
    if (entry.freshUntil <= now) return
    const expired: CacheEntry = Object.freeze({ ...entry, freshUntil: now })
    const l1Key = ns.l1Prefix + key
    this.#revoke(l1Key)
    const stamp = ns.stamp
    const seq = this.#seq
    if (this.l2 !== undefined) {
      const payload = encodePayload(entry.value, this.codec)
      await this.l2.write(ns.redisKey(key), expired, payload, {
        mode: 'set',
        channel: this.channel,
        message: this.#message('d', { k: [l1Key] }),
      })
    }
    this.l1?.delete(l1Key)
    this.#putL1(l1Key, expired, undefined, stamp, seq)
  }

  async invalidateNamespace(ns: NamespaceState): Promise<void> {
    this.#assertOpen()
    ns.bumpLocal()
    if (this.l2 === undefined) return
    const head = `{"i":${JSON.stringify(this.instanceId)},"t":"n","n":${JSON.stringify(ns.path)},"g":`
    const gen = await this.l2.bump(ns.genKey, this.channel, head, '}')
    ns.setGen(gen)
  }

  async invalidateTags(tags: readonly string[]): Promise<void> {
    this.#assertOpen()
    for (const tag of tags) assertTag(tag)
    if (tags.length === 0) return
    const at = writeClock()
    for (const tag of tags) this.#learnTag(tag, at)
    if (this.l2 === undefined) return
    await this.l2.writeNumbers(
      tags.map((tag) => this.tagKey(tag)),
      at,
      this.options.tagTtl,
      this.channel,
      this.#message('t', { tags: [...tags], at }),
    )
  }

  // ---------------------------------------------------------------- fills

  async getOrSet<T>(
    ns: NamespaceState,
    key: string,
    loader: Loader<T>,
    options: GetOrSetOptions | undefined,
  ): Promise<EntryResult<T>> {
    const outcome = await this.read(ns, key, true)
    if (outcome.result !== undefined) return outcome.result as EntryResult<T>
    const staleIfError = options?.staleIfError ?? true
    const soft =
      options?.softTimeout === undefined
        ? this.options.softTimeout
        : parseDuration(options.softTimeout, 'softTimeout')
    if (outcome.stale !== undefined && soft === 0) {
      // Stale-while-revalidate: serve the stale entry, refresh in the background.
      this.#fill(ns, key, loader, options, outcome.stale, true).promise.catch(NOOP)
      return { entry: outcome.stale as CacheEntry<T>, source: 'stale' }
    }
    // With a soft timeout the caller waits for the loader at most that long before taking the stale entry.
    const fallback = outcome.stale ?? outcome.fallback
    const flight = this.#fill(ns, key, loader, options, fallback, false)
    try {
      let result: EntryResult<unknown> | undefined
      if (fallback !== undefined && soft > 0) {
        let timer: NodeJS.Timeout | undefined
        const timeout = new Promise<typeof SOFT_TIMEOUT>((resolve) => {
          timer = setTimeout(() => resolve(SOFT_TIMEOUT), soft)
        })
        const raced = await Promise.race([flight.promise, timeout]).finally(() => clearTimeout(timer))
        if (raced === SOFT_TIMEOUT) return { entry: fallback as CacheEntry<T>, source: 'stale' }
        result = raced
      } else {
        result = await flight.promise
      }
      return result as EntryResult<T>
    } catch (error) {
      if (staleIfError && fallback !== undefined && Date.now() < fallback.staleUntil) {
        this.#countStale(key, 'l1')
        return { entry: fallback as CacheEntry<T>, source: 'stale' }
      }
      throw error
    }
  }

  /** Join or start the single fill of a key. */
  #fill<T>(
    ns: NamespaceState,
    key: string,
    loader: Loader<T>,
    options: GetOrSetOptions | undefined,
    stale: CacheEntry | undefined,
    background: boolean,
  ): Flight {
    const l1Key = ns.l1Prefix + key
    const existing = this.#flights.get(l1Key)
    if (existing !== undefined && !existing.revoked && (background || !existing.background)) return existing
    const flight: Flight = {
      promise: undefined as unknown as Promise<EntryResult<unknown>>,
      revoked: false,
      background,
      abort: new AbortController(),
    }
    ;(flight as { promise: Promise<EntryResult<unknown> | undefined> }).promise = this.#runFill(
      ns,
      key,
      l1Key,
      loader,
      options,
      stale,
      background,
      flight,
    ).finally(() => {
      if (this.#flights.get(l1Key) === flight) this.#flights.delete(l1Key)
    })
    flight.promise.catch(NOOP)
    this.#flights.set(l1Key, flight)
    return flight
  }

  async #runFill<T>(
    ns: NamespaceState,
    key: string,
    l1Key: string,
    loader: Loader<T>,
    options: GetOrSetOptions | undefined,
    stale: CacheEntry | undefined,
    background: boolean,
    flight: Flight,
  ): Promise<EntryResult<unknown> | undefined> {
    const stamp = ns.stamp
    const seq = this.#seq
    let token: string | undefined
    let redisKey: string | undefined
    const l2 = this.l2
    if (l2 !== undefined) {
      try {
        await this.prepare(ns)
        redisKey = ns.redisKey(key)
        token = randomBytes(12).toString('base64url')
        const waitMs =
          options?.leaseWait === undefined
            ? this.options.leaseWait
            : parseDuration(options.leaseWait, 'leaseWait')
        const deadline = Date.now() + (background ? 0 : waitMs)
        for (;;) {
          const pollSeq = this.#seq
          const lease = await l2.acquireLease(redisKey, token, this.options.leaseTtl)
          const read = lease.current
          if (read !== undefined && !isTombstone(read.value) && read.value.tags.length !== 0) {
            await this.#fetchTags(read.value.tags)
          }
          const current = this.#usable(read)
          if (current !== undefined) {
            if (lease.acquired) l2.releaseLease(redisKey, token).catch(NOOP)
            this.#putL1(l1Key, current.value, current.payloadBytes, stamp, pollSeq)
            this.counters.l2Hits++
            return { entry: current.value, source: 'hit-l2' }
          }
          if (lease.acquired) break
          const remaining = deadline - Date.now()
          if (remaining <= 0) {
            // Another instance is loading: a background refresh simply lets it; a caller loads itself.
            if (background) return undefined
            token = undefined
            break
          }
          await this.#waitForKey(l1Key, Math.min(remaining, this.options.leasePollInterval))
        }
      } catch (error) {
        token = undefined
        if (!(error instanceof CacheStoreError)) throw error
      }
    }
    return this.#load(ns, key, l1Key, redisKey, token, loader, options, stale, flight, stamp, seq)
  }

  #usable(read: StoredRead | undefined): { value: CacheEntry; payloadBytes: number } | undefined {
    if (read === undefined || isTombstone(read.value)) return undefined
    const value = read.value
    if (Date.now() >= value.freshUntil) return undefined
    if (value.tags.length !== 0 && (this.#tagTime(value.tags) === undefined || this.tagInvalidated(value))) {
      return undefined
    }
    return { value, payloadBytes: read.payloadBytes }
  }

  #waitForKey(l1Key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#waiters.get(l1Key)
      if (set === undefined) {
        set = new Set()
        this.#waiters.set(l1Key, set)
      }
      const waiters = set
      const done = (): void => {
        clearTimeout(timer)
        waiters.delete(done)
        if (waiters.size === 0 && this.#waiters.get(l1Key) === waiters) this.#waiters.delete(l1Key)
        resolve()
      }
      const timer = setTimeout(done, ms)
      waiters.add(done)
    })
  }

  async #load<T>(
    ns: NamespaceState,
    key: string,
    l1Key: string,
    redisKey: string | undefined,
    token: string | undefined,
    loader: Loader<T>,
    options: GetOrSetOptions | undefined,
    stale: CacheEntry | undefined,
    flight: Flight,
    stamp: number,
    seq: number,
  ): Promise<EntryResult<unknown> | undefined> {
    const overrides: SetOptions = { ...options }
    const context: LoaderContext = {
      key,
      stale,
      signal: flight.abort.signal,
      setTtl: (ttl: Duration) => {
        overrides.ttl = ttl
      },
      setGrace: (grace: Duration) => {
        overrides.grace = grace
      },
      setTags: (tags: readonly string[]) => {
        overrides.tags = tags
      },
      setVersion: (version: number) => {
        overrides.version = version
      },
      setEtag: (etag: string) => {
        overrides.etag = etag
      },
    }
    const hard =
      options?.hardTimeout === undefined
        ? this.options.hardTimeout
        : parseDuration(options.hardTimeout, 'hardTimeout')
    // The entry is dated when loading starts: it is never newer than the data it holds.
    const startedAt = writeClock()
    this.counters.loads++
    let value: T
    try {
      value = await this.#runLoader(key, loader, context, hard, flight)
    } catch (error) {
      this.counters.loadErrors++
      this.emit('load', { key, namespace: ns.path, durationMs: Date.now() - startedAt, ok: false })
      if (token !== undefined && redisKey !== undefined) this.l2?.releaseLease(redisKey, token).catch(NOOP)
      throw error
    }
    this.emit('load', { key, namespace: ns.path, durationMs: Date.now() - startedAt, ok: true })
    const negative =
      options?.negativeTtl === undefined ? 0 : parseDuration(options.negativeTtl, 'negativeTtl')
    if (value === undefined && negative === 0) {
      if (token !== undefined && redisKey !== undefined) this.l2?.releaseLease(redisKey, token).catch(NOOP)
      return {
        entry: {
          value,
          version: startedAt,
          createdAt: startedAt,
          freshUntil: startedAt,
          staleUntil: startedAt,
          tags: [],
          etag: '""',
        },
        source: 'miss',
      }
    }
    const { entry, payload } = this.buildEntry(
      value,
      overrides,
      startedAt,
      value === undefined ? negative : undefined,
    )
    const result: EntryResult<unknown> = { entry, source: 'miss' }
    if (flight.revoked) return result
    if (this.l2 !== undefined && redisKey !== undefined) {
      try {
        const written = await this.l2.write(redisKey, entry, payload as Buffer, {
          token,
          mode: 'fill',
          channel: this.channel,
          message: this.#message('s', { k: [l1Key] }),
        })
        if (!written) return result
      } catch (error) {
        if (!(error instanceof CacheStoreError)) throw error
      }
    }
    if (!flight.revoked) this.#putL1(l1Key, entry, payload?.byteLength, stamp, seq)
    return result
  }

  async #runLoader<T>(
    key: string,
    loader: Loader<T>,
    context: LoaderContext,
    hard: number,
    flight: Flight,
  ): Promise<T> {
    if (hard <= 0) return loader(context)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.counters.loadTimeouts++
        flight.revoked = true
        flight.abort.abort()
        reject(new CacheLoaderTimeoutError(key, hard))
      }, hard)
    })
    try {
      return await Promise.race([Promise.resolve().then(() => loader(context)), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  // ---------------------------------------------------------------- coherence

  #startCoherence(): void {
    const l2 = this.l2 as RedisStore
    void l2.connect()
    const sub = l2.subscriber()
    const listener = (raw: string): void => this.#onMessage(raw)
    sub.on('ready', () => this.#heartbeatNow())
    // Messages published while the subscriber is away are lost for good: stop trusting L1 at once,
    // the next own heartbeat after resubscribing resynchronises it.
    for (const event of ['error', 'reconnecting', 'end']) sub.on(event, () => this.#channelDown())
    void (async () => {
      try {
        if (!sub.isOpen) await sub.connect()
        await sub.subscribe(this.channel, listener)
        this.#heartbeatNow()
      } catch (error) {
        this.emit('error', { operation: 'subscribe', error })
      }
    })()
    const interval = Math.max(10, Math.floor(this.options.l1TrustTimeout / HEARTBEATS_PER_TRUST_WINDOW))
    this.#heartbeat = setInterval(() => this.#heartbeatNow(), interval)
    this.#heartbeat.unref()
  }

  #channelDown(): void {
    if (this.trustedUntil === 0) return
    this.trustedUntil = 0
    if (!this.#trustLost) {
      this.#trustLost = true
      this.emit('coherence', { state: 'lost' })
    }
  }

  #heartbeatNow(): void {
    if (this.closed || this.l2 === undefined) return
    if (!this.#trustLost && Date.now() >= this.trustedUntil && this.trustedUntil !== 0) {
      this.#trustLost = true
      this.emit('coherence', { state: 'lost' })
    }
    this.l2.publish(this.channel, this.#message('h', { s: Date.now() })).catch(NOOP)
  }

  #onMessage(raw: string): void {
    // Own messages are recognised without parsing them (every message starts with its instance id).
    if (raw.startsWith(this.#selfPrefix)) {
      if (raw.startsWith(this.#selfHeartbeat)) {
        const sentAt = (JSON.parse(raw) as Message).s
        if (typeof sentAt === 'number') this.#onOwnHeartbeat(sentAt)
      }
      return
    }
    let message: Message
    try {
      message = JSON.parse(raw) as Message
    } catch {
      return
    }
    switch (message.t) {
      case 's':
      case 'd':
        for (const l1Key of message.k ?? []) {
          this.#seq++
          this.#recent.set(l1Key, this.#seq)
          this.l1?.delete(l1Key)
          this.#revoke(l1Key)
          const waiters = this.#waiters.get(l1Key)
          if (waiters !== undefined) for (const wake of [...waiters]) wake()
        }
        if (this.#recent.size > RECENT_KEYS_LIMIT) {
          // Forget the details, remember that everything before now may be superseded.
          this.#recent.clear()
          this.#recentFloor = this.#seq
        }
        break
      case 'n': {
        const state = this.#namespaces.get(message.n ?? '')
        if (state !== undefined && typeof message.g === 'number') state.setGen(message.g)
        break
      }
      case 't':
        for (const tag of message.tags ?? []) this.#learnTag(tag, message.at ?? 0)
        break
      default:
        break
    }
  }

  /**
   * Our own heartbeat came back through the channel: every message published before it was
   * delivered, so L1 may be trusted until `sentAt + l1TrustTimeout`. After a gap (lost channel,
   * reconnect) L1 is resynchronised first: a new epoch, forgotten generations and tag times.
   */
  #onOwnHeartbeat(sentAt: number): void {
    const now = Date.now()
    if (now >= this.trustedUntil) {
      this.epoch++
      // Replies to reads sent before the resync must not fill L1 either.
      this.#recent.clear()
      this.#recentFloor = ++this.#seq
      this.tagTimes.clear()
      for (const state of this.#namespaces.values()) state.forget()
      if (this.#trustLost) {
        this.#trustLost = false
        this.emit('coherence', { state: 'resynced' })
      } else {
        this.emit('coherence', { state: 'connected' })
      }
    }
    this.trustedUntil = Math.max(this.trustedUntil, sentAt + this.options.l1TrustTimeout)
  }

  // ---------------------------------------------------------------- lifecycle

  #assertOpen(): void {
    if (this.closed) throw new CacheClosedError()
  }

  stats(): CacheStats {
    const c = this.counters
    const hits = c.l1Hits + c.l2Hits
    const finalMisses = this.l2 === undefined ? c.l1Misses : c.l2Misses
    return Object.freeze({
      l1: Object.freeze({ hits: c.l1Hits, misses: c.l1Misses, stale: c.l1Stale, errors: 0 }),
      l2: Object.freeze({ hits: c.l2Hits, misses: c.l2Misses, stale: c.l2Stale, errors: c.l2Errors }),
      loads: c.loads,
      loadErrors: c.loadErrors,
      loadTimeouts: c.loadTimeouts,
      sets: c.sets,
      deletes: c.deletes,
      hitRatio: hits + finalMisses === 0 ? 0 : hits / (hits + finalMisses),
      l1Size: Object.freeze({ items: this.l1?.itemCount ?? 0, bytes: this.l1?.calculatedSize ?? 0 }),
      l1Trusted: Date.now() < this.trustedUntil,
      l2Circuit: this.l2?.circuit ?? 'none',
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat)
    for (const flight of this.#flights.values()) {
      flight.revoked = true
      flight.abort.abort()
    }
    for (const waiters of this.#waiters.values()) for (const wake of [...waiters]) wake()
    this.l1?.close()
    this.l2?.close()
  }
}
