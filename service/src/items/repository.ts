import type { CompiledQuery } from 'kysely'
import type { Db } from '../db/database.js'
import type { Item, ItemSort } from './schemas.js'

/** Columns as the API names them: the renaming happens in SQL, not per row in JavaScript. */
export const ITEM_COLUMNS = [
  'id',
  'name',
  'category',
  'price',
  'description',
  'updated_at as updatedAt',
  'version',
] as const

export interface NewItem {
  name: string
  category: string
  price: number
  description?: string | undefined
}

export type ItemPatch = Partial<Required<NewItem>>

export interface ItemListOptions {
  page: number
  size: number
  category?: string | undefined
  sort?: ItemSort | undefined
}

/** Optimistic concurrency for a write: it applies only while the row still has this version. */
export interface WriteCondition {
  /** The row's `version` the client last saw (from its `If-Match` ETag). @default undefined (unconditional) */
  expectedVersion?: number | undefined
}

export interface ItemPage {
  items: Item[]
  hasMore: boolean
}

const SORT_COLUMNS = {
  id: 'id',
  price: 'price',
  name: 'name',
  updated_at: 'updated_at',
} as const

/**
 * Data access for items. A plain class over Kysely, so caches and write strategies can wrap it.
 * Every write bumps `version` and `updated_at`.
 *
 * @example
 * const items = new ItemsRepository(db)
 * const item = await items.findById(1)
 */
export class ItemsRepository {
  readonly #db: Db
  // The hot path: compiled once, executed with a fresh parameter (and a cached SQLite statement).
  readonly #findById: CompiledQuery<Item>

  constructor(db: Db) {
    this.#db = db
    this.#findById = db.selectFrom('items').select(ITEM_COLUMNS).where('id', '=', 0).compile()
  }

  async findById(id: number): Promise<Item | undefined> {
    const result = await this.#db.executeQuery<Item>({ ...this.#findById, parameters: [id] })
    return result.rows[0]
  }

  /** Items with the given ids, in id order; missing ids are left out. */
  async findMany(ids: readonly number[]): Promise<Item[]> {
    if (ids.length === 0) return []
    return this.#db
      .selectFrom('items')
      .select(ITEM_COLUMNS)
      .where('id', 'in', [...ids])
      .orderBy('id')
      .execute()
  }

  /** One page, fetched with one extra row to know whether another page follows. */
  async list(options: ItemListOptions): Promise<ItemPage> {
    const sort = options.sort ?? 'id'
    const descending = sort.startsWith('-')
    const column = SORT_COLUMNS[(descending ? sort.slice(1) : sort) as keyof typeof SORT_COLUMNS]
    const direction = descending ? 'desc' : 'asc'
    let query = this.#db.selectFrom('items').select(ITEM_COLUMNS)
    if (options.category !== undefined) query = query.where('category', '=', options.category)
    query = query.orderBy(column, direction)
    if (column !== 'id') query = query.orderBy('id', direction)
    const rows = await query
      .limit(options.size + 1)
      .offset((options.page - 1) * options.size)
      .execute()
    const hasMore = rows.length > options.size
    if (hasMore) rows.pop()
    return { items: rows, hasMore }
  }

  async create(input: NewItem): Promise<Item> {
    return this.#db
      .insertInto('items')
      .values({
        name: input.name,
        category: input.category,
        price: input.price,
        description: input.description ?? '',
        updated_at: new Date().toISOString(),
        version: 1,
      })
      .returning(ITEM_COLUMNS)
      .executeTakeFirstOrThrow()
  }

  /** Full replacement; `undefined` when the item does not exist (or no longer has the expected version). */
  async replace(id: number, input: Required<NewItem>, condition?: WriteCondition): Promise<Item | undefined> {
    return this.patch(id, input, condition)
  }

  /** Partial update; `undefined` when the item does not exist (or no longer has the expected version). */
  async patch(id: number, patch: ItemPatch, condition?: WriteCondition): Promise<Item | undefined> {
    let query = this.#db
      .updateTable('items')
      .set((eb) => ({
        ...definedOnly(patch),
        updated_at: new Date().toISOString(),
        version: eb('version', '+', 1),
      }))
      .where('id', '=', id)
    // Checked in the same statement as the write: two clients holding the same ETag cannot both win.
    if (condition?.expectedVersion !== undefined)
      query = query.where('version', '=', condition.expectedVersion)
    return query.returning(ITEM_COLUMNS).executeTakeFirst()
  }

  /** `true` when a row was deleted (and, with a condition, still had the expected version). */
  async delete(id: number, condition?: WriteCondition): Promise<boolean> {
    let query = this.#db.deleteFrom('items').where('id', '=', id)
    if (condition?.expectedVersion !== undefined)
      query = query.where('version', '=', condition.expectedVersion)
    const result = await query.executeTakeFirst()
    return result.numDeletedRows > 0n
  }

  async count(): Promise<number> {
    const row = await this.#db
      .selectFrom('items')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow()
    return Number(row.count)
  }
}

function definedOnly(patch: ItemPatch): ItemPatch {
  const result: ItemPatch = {}
  if (patch.name !== undefined) result.name = patch.name
  if (patch.category !== undefined) result.category = patch.category
  if (patch.price !== undefined) result.price = patch.price
  if (patch.description !== undefined) result.description = patch.description
  return result
}
