import { CacheCore } from './cache-core.js'
import { assertName } from './keys.js'
import type { NamespaceState } from './namespace-state.js'
import { resolveCacheOptions, type CacheOptions } from './options.js'
import type {
  Cache,
  CacheEntry,
  CacheEventName,
  CacheListener,
  CacheStats,
  EntryResult,
  GetOrSetOptions,
  Loader,
  SetOptions,
} from './types.js'

/** One namespace's view of a cache core. */
class HotpathCache implements Cache {
  readonly #core: CacheCore
  readonly #ns: NamespaceState

  constructor(core: CacheCore, ns: NamespaceState) {
    this.#core = core
    this.#ns = ns
  }

  get name(): string {
    return this.#ns.path
  }

  get<T>(key: string): Promise<T | undefined> {
    // The L1 hit path: one lookup, one clock read, no key validation (invalid keys are never stored).
    const core = this.#core
    const record =
      core.l1 === undefined ? undefined : core.freshL1(this.#ns, this.#ns.l1Prefix + key, Date.now())
    if (record !== undefined) {
      core.hitL1(key)
      return Promise.resolve(record.entry.value as T)
    }
    return core.readValue(this.#ns, key) as Promise<T | undefined>
  }

  peekEntry<T>(key: string): EntryResult<T> | undefined {
    const core = this.#core
    const record =
      core.l1 === undefined ? undefined : core.freshL1(this.#ns, this.#ns.l1Prefix + key, Date.now())
    if (record === undefined) return undefined
    core.hitL1(key)
    return { entry: record.entry as CacheEntry<T>, source: 'hit-l1' }
  }

  async getEntry<T>(key: string): Promise<EntryResult<T> | undefined> {
    const outcome = await this.#core.read(this.#ns, key, true)
    if (outcome.result !== undefined) return outcome.result as EntryResult<T>
    const stale = outcome.stale ?? outcome.fallback
    return stale === undefined ? undefined : { entry: stale as CacheEntry<T>, source: 'stale' }
  }

  async getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    const entries = await this.#core.readMany(this.#ns, keys)
    return entries.map((entry) => entry?.value as T | undefined)
  }

  set<T>(key: string, value: T, options?: SetOptions): Promise<CacheEntry<T>> {
    return this.#core.set(this.#ns, key, value, options)
  }

  setMany<T>(items: readonly { key: string; value: T; options?: SetOptions }[]): Promise<void> {
    return this.#core.setMany(this.#ns, items)
  }

  delete(key: string): Promise<void> {
    return this.#core.delete(this.#ns, [key])
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return this.#core.delete(this.#ns, keys)
  }

  async has(key: string): Promise<boolean> {
    const outcome = await this.#core.read(this.#ns, key, false)
    return outcome.result !== undefined
  }

  async getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T> {
    const core = this.#core
    const record =
      core.l1 === undefined ? undefined : core.freshL1(this.#ns, this.#ns.l1Prefix + key, Date.now())
    if (record !== undefined) {
      core.hitL1(key)
      return record.entry.value as T
    }
    return (await core.getOrSet(this.#ns, key, loader, options)).entry.value
  }

  getOrSetEntry<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<EntryResult<T>> {
    return this.#core.getOrSet(this.#ns, key, loader, options)
  }

  expire(key: string): Promise<void> {
    return this.#core.expire(this.#ns, key)
  }

  namespace(name: string): Cache {
    assertName(name)
    const path = this.#ns.path === '' ? name : `${this.#ns.path}:${name}`
    return new HotpathCache(this.#core, this.#core.namespaceState(path, this.#ns, name))
  }

  invalidateNamespace(name?: string): Promise<void> {
    if (name === undefined) return this.#core.invalidateNamespace(this.#ns)
    assertName(name)
    const path = this.#ns.path === '' ? name : `${this.#ns.path}:${name}`
    return this.#core.invalidateNamespace(this.#core.namespaceState(path, this.#ns, name))
  }

  invalidateTags(tags: readonly string[]): Promise<void> {
    return this.#core.invalidateTags(tags)
  }

  clear(): Promise<void> {
    return this.#core.invalidateNamespace(this.#ns)
  }

  close(): Promise<void> {
    return this.#core.close()
  }

  stats(): CacheStats {
    return this.#core.stats()
  }

  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): this {
    this.#core.on(event, listener)
    return this
  }

  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): this {
    this.#core.off(event, listener)
    return this
  }
}

/**
 * Create a multi-tier cache: a bounded in-process L1, optionally Redis as a shared L2 kept
 * coherent across instances.
 *
 * @example
 * import { createCache } from 'hotpath'
 * import { redisStore } from 'hotpath/redis'
 *
 * const cache = createCache({ l2: redisStore({ url: process.env.REDIS_URL }), ttl: '5m', grace: '1h' })
 * const users = cache.namespace('users')
 * const user = await users.getOrSet(`${id}`, () => db.findUser(id), { tags: [`user:${id}`] })
 * await users.invalidateNamespace() // every users:* key, O(1)
 */
export function createCache(options: CacheOptions = {}): Cache {
  const core = new CacheCore(resolveCacheOptions(options))
  return new HotpathCache(core, core.root)
}
