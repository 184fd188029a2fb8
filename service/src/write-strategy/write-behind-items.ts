import type { PendingWrite, WriteBehind } from '../../../src/cache/strategies/write-behind.js'
import type { RepositoryApi } from '../context.js'
import type { ItemListOptions, ItemPage, ItemPatch, ItemsRepository, NewItem } from '../items/repository.js'
import type { Item } from '../items/schemas.js'

/** Allocates ids for items created through write-behind (before the database has the row). */
export type IdAllocator = () => Promise<number>

export interface WriteBehindItemsOptions {
  /** Ids of created items (a Redis counter in the service). */
  allocateId: IdAllocator
  /**
   * How a write reads the item it changes (404 check, PATCH merge, base version), e.g. through
   * the service cache with `findById` of this repository as the loader. A slightly stale read is
   * harmless for the version: the queue assigns one above every version it ever gave the id.
   * @default this repository's findById (pending write, then the database)
   */
  readCurrent?: (id: number) => Promise<Item | undefined>
}

/**
 * The items repository with write-behind: writes are acknowledged once durable in Redis and reach
 * the database later; reads return a pending write (from any instance) before the database row.
 * `create` takes its id from `allocateId` (a Redis counter), `replace`/`patch`/`delete` read the
 * current item (pending first) to answer 404 and to base the new version on.
 *
 * Lists overlay pending changes on the rows of the page (a pending delete drops its row); an item
 * created but not yet flushed appears in lists after its flush.
 *
 * @example
 * app.service.repositories.items = new WriteBehindItems(app.service.repositories.items, writes, { allocateId })
 */
export class WriteBehindItems implements RepositoryApi<ItemsRepository> {
  readonly #base: RepositoryApi<ItemsRepository>
  readonly #writes: WriteBehind<Item, number>
  readonly #allocateId: IdAllocator
  readonly #readCurrent: (id: number) => Promise<Item | undefined>

  constructor(
    base: RepositoryApi<ItemsRepository>,
    writes: WriteBehind<Item, number>,
    options: WriteBehindItemsOptions,
  ) {
    this.#base = base
    this.#writes = writes
    this.#allocateId = options.allocateId
    this.#readCurrent = options.readCurrent ?? ((id) => this.findById(id))
  }

  async #readLatest(id: number): Promise<Item | undefined> {
    const pending = await this.#writes.read(id)
    if (pending !== undefined) return pending.op === 'delete' ? undefined : pending.entity
    return this.#readCurrent(id)
  }

  async findById(id: number): Promise<Item | undefined> {
    const pending = await this.#writes.read(id)
    if (pending !== undefined) return pending.op === 'delete' ? undefined : pending.entity
    return this.#base.findById(id)
  }

  async findMany(ids: readonly number[]): Promise<Item[]> {
    const [rows, pending] = await Promise.all([this.#base.findMany(ids), this.#writes.readMany(ids)])
    const byId = new Map(rows.map((row) => [row.id, row]))
    const result: Item[] = []
    ids.forEach((id, index) => {
      const item = resolve(byId.get(id), pending[index])
      if (item !== undefined) result.push(item)
    })
    return result.sort((a, b) => a.id - b.id)
  }

  async list(options: ItemListOptions): Promise<ItemPage> {
    const page = await this.#base.list(options)
    if (page.items.length === 0) return page
    const pending = await this.#writes.readMany(page.items.map((item) => item.id))
    const items: Item[] = []
    page.items.forEach((row, index) => {
      const item = resolve(row, pending[index])
      if (item !== undefined) items.push(item)
    })
    return { items, hasMore: page.hasMore }
  }

  async create(input: NewItem): Promise<Item> {
    const id = await this.#allocateId()
    const item: Item = {
      id,
      name: input.name,
      category: input.category,
      price: input.price,
      description: input.description ?? '',
      updatedAt: new Date().toISOString(),
      version: 0,
    }
    return this.#writes.write(item, { baseVersion: 0 })
  }

  async replace(id: number, input: Required<NewItem>): Promise<Item | undefined> {
    return this.patch(id, input)
  }

  async patch(id: number, patch: ItemPatch): Promise<Item | undefined> {
    // A partial patch merges into the latest value, which may be a write another instance just
    // queued (not yet in this instance's cache): read the queue first. A full replace needs the
    // current item only for its existence and base version, where a slightly stale read is harmless.
    const complete =
      patch.name !== undefined &&
      patch.category !== undefined &&
      patch.price !== undefined &&
      patch.description !== undefined
    const current = await (complete ? this.#readCurrent(id) : this.#readLatest(id))
    if (current === undefined) return undefined
    const item: Item = {
      id,
      name: patch.name ?? current.name,
      category: patch.category ?? current.category,
      price: patch.price ?? current.price,
      description: patch.description ?? current.description,
      updatedAt: new Date().toISOString(),
      version: current.version,
    }
    return this.#writes.update(item, { baseVersion: current.version })
  }

  async delete(id: number): Promise<boolean> {
    const current = await this.#readCurrent(id)
    if (current === undefined) return false
    await this.#writes.delete(id, { baseVersion: current.version })
    return true
  }

  count(): Promise<number> {
    return this.#base.count()
  }
}

function resolve(row: Item | undefined, pending: PendingWrite<Item> | undefined): Item | undefined {
  if (pending === undefined) return row
  return pending.op === 'delete' ? undefined : pending.entity
}
