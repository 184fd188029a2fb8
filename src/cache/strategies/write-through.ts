import { EventEmitter } from 'node:events'
import type { Cache, SetOptions } from '../types.js'
import type { VersionedDelete, WriteId, WriteRepository } from './repository.js'

export interface WriteThroughOptions<T, Id extends WriteId> {
  /** The cache kept in step with the database. */
  cache: Cache
  /** The cache key of an id. @default String(id) */
  keyOf?: (id: Id) => string
  /** The id of an entity. @default (entity) => entity.id */
  idOf?: (entity: T) => Id
  /**
   * Options of the cache entry written after a commit. By default the entry carries the entity's
   * `version`, so a concurrent fill that read an older row can never replace it.
   * @default (entity) => ({ version: entity.version })
   */
  entryOptions?: (entity: T) => SetOptions
}

export interface WriteThroughEvents {
  /** Updating the cache failed after a commit; the key was invalidated instead (or that failed too). */
  'cache-error': { key: string; error: unknown; invalidated: boolean }
}

/**
 * Write-through: commit to the database first, then set the cache entry with the new version
 * (which publishes the change to other instances). A failed cache update never fails the write:
 * the entry is invalidated instead, so the cache cannot keep serving the old value.
 *
 * @example
 * const writes = createWriteThrough(itemsRepository, { cache: cache.namespace('items') })
 * await writes.upsert([{ ...item, version: item.version + 1 }])
 * const saved = await writes.commit(7, () => db.updateItem(7, patch)) // a write that assigns its own version
 */
export class WriteThrough<T, Id extends WriteId = WriteId> {
  readonly #repository: WriteRepository<T, Id>
  readonly #cache: Cache
  readonly #keyOf: (id: Id) => string
  readonly #idOf: (entity: T) => Id
  readonly #entryOptions: (entity: T) => SetOptions
  readonly #events = new EventEmitter()

  constructor(repository: WriteRepository<T, Id>, options: WriteThroughOptions<T, Id>) {
    this.#repository = repository
    this.#cache = options.cache
    this.#keyOf = options.keyOf ?? String
    this.#idOf = options.idOf ?? ((entity: T) => (entity as { id: Id }).id)
    this.#entryOptions =
      options.entryOptions ?? ((entity: T) => ({ version: (entity as { version: number }).version }))
  }

  /** Upsert entities (version-guarded) in one transaction, then update their cache entries. */
  async upsert(entities: readonly T[]): Promise<void> {
    await this.#repository.upsert(entities)
    await Promise.all(entities.map((entity) => this.#store(entity)))
  }

  /** Delete (version-guarded) in one transaction, then drop the cache entries. */
  async delete(targets: readonly VersionedDelete<Id>[]): Promise<void> {
    await this.#repository.delete(targets)
    await Promise.all(targets.map((target) => this.#invalidate(this.#keyOf(target.id))))
  }

  /**
   * Run a database write that assigns the version itself (e.g. `UPDATE … SET version = version + 1
   * RETURNING *`), then cache what it returned. `undefined` (nothing written) invalidates the key.
   */
  async commit(id: Id, write: () => Promise<T | undefined>): Promise<T | undefined> {
    const entity = await write()
    if (entity === undefined) await this.#invalidate(this.#keyOf(id))
    else await this.#store(entity)
    return entity
  }

  /** Run a database delete, then drop the cache entry. Returns what `remove` returned. */
  async remove<R>(id: Id, remove: () => Promise<R>): Promise<R> {
    const result = await remove()
    await this.#invalidate(this.#keyOf(id))
    return result
  }

  on<E extends keyof WriteThroughEvents>(event: E, listener: (payload: WriteThroughEvents[E]) => void): this {
    this.#events.on(event, listener)
    return this
  }

  off<E extends keyof WriteThroughEvents>(
    event: E,
    listener: (payload: WriteThroughEvents[E]) => void,
  ): this {
    this.#events.off(event, listener)
    return this
  }

  async #store(entity: T): Promise<void> {
    const key = this.#keyOf(this.#idOf(entity))
    try {
      await this.#cache.set(key, entity, this.#entryOptions(entity))
    } catch (error) {
      await this.#invalidate(key, error)
    }
  }

  async #invalidate(key: string, cause?: unknown): Promise<void> {
    try {
      await this.#cache.delete(key)
      if (cause !== undefined) this.#events.emit('cache-error', { key, error: cause, invalidated: true })
    } catch (error) {
      this.#events.emit('cache-error', { key, error: cause ?? error, invalidated: false })
    }
  }
}

/**
 * Create a {@link WriteThrough} over a repository and a cache.
 *
 * @example
 * const writes = createWriteThrough(repository, { cache: cache.namespace('items') })
 */
export function createWriteThrough<T, Id extends WriteId = WriteId>(
  repository: WriteRepository<T, Id>,
  options: WriteThroughOptions<T, Id>,
): WriteThrough<T, Id> {
  return new WriteThrough(repository, options)
}
