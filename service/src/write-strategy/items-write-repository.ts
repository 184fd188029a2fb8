import { sql, type Transaction } from 'kysely'
import type {
  VersionedDelete,
  WriteBatch,
  WriteRepository,
} from '../../../src/cache/strategies/repository.js'
import type { Database, Db, Dialect } from '../db/database.js'
import type { Item } from '../items/schemas.js'
import { ITEM_COLUMNS } from '../items/repository.js'

/** Where deletes leave their version, so an older upsert delivered later cannot revive the row. */
export const ITEM_TOMBSTONES_TABLE = 'hotpath_item_tombstones'

/**
 * The write-strategy contract for items on SQLite and PostgreSQL: upserts apply only a newer
 * `version` (`INSERT … ON CONFLICT (id) DO UPDATE … WHERE excluded.version > items.version`) and
 * never one at or below a recorded delete; deletes remove only an older row and record a tombstone.
 * A batch is one transaction. Call {@link ensureSchema} once before use.
 *
 * @example
 * const repository = new ItemsWriteRepository(database.db, database.dialect)
 * await repository.ensureSchema()
 * await repository.apply({ upserts: [item], deletes: [{ id: 9, version: 4 }] })
 */
export class ItemsWriteRepository implements WriteRepository<Item, number> {
  readonly #db: Db
  readonly #dialect: Dialect
  #highestId = 0

  constructor(db: Db, dialect: Dialect) {
    this.#db = db
    this.#dialect = dialect
  }

  /**
   * Create the tombstone table if it is missing (idempotent, also when several instances start at
   * once: PostgreSQL's `CREATE TABLE IF NOT EXISTS` is not, two concurrent ones can fail on
   * `pg_type`'s unique index, so they take a transaction-scoped advisory lock first).
   */
  async ensureSchema(): Promise<void> {
    const create = sql`CREATE TABLE IF NOT EXISTS ${sql.table(ITEM_TOMBSTONES_TABLE)} (id bigint PRIMARY KEY, version bigint NOT NULL)`
    if (this.#dialect === 'postgres') {
      await this.#db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(hashtext(${ITEM_TOMBSTONES_TABLE}))`.execute(trx)
        await create.execute(trx)
      })
    } else {
      await create.execute(this.#db)
    }
    this.#highestId = await this.maxId()
  }

  /** The highest item id in the table (0 when empty). */
  async maxId(): Promise<number> {
    const row = await this.#db
      .selectFrom('items')
      .select((eb) => eb.fn.max('id').as('max'))
      .executeTakeFirst()
    return Number(row?.max ?? 0)
  }

  async load(id: number): Promise<Item | undefined> {
    return this.#db.selectFrom('items').select(ITEM_COLUMNS).where('id', '=', id).executeTakeFirst()
  }

  async loadMany(ids: readonly number[]): Promise<(Item | undefined)[]> {
    if (ids.length === 0) return []
    const rows = await this.#db
      .selectFrom('items')
      .select(ITEM_COLUMNS)
      .where('id', 'in', [...ids])
      .execute()
    const byId = new Map(rows.map((row) => [row.id, row]))
    return ids.map((id) => byId.get(id))
  }

  upsert(items: readonly Item[]): Promise<void> {
    return this.apply({ upserts: items, deletes: [] })
  }

  delete(targets: readonly VersionedDelete<number>[]): Promise<void> {
    return this.apply({ upserts: [], deletes: targets })
  }

  async apply(batch: WriteBatch<Item, number>): Promise<void> {
    if (batch.upserts.length === 0 && batch.deletes.length === 0) return
    await this.#db.transaction().execute(async (trx) => {
      if (this.#dialect === 'postgres') {
        await this.#upsertAllPostgres(trx, batch.upserts)
        await this.#deleteAllPostgres(trx, batch.deletes)
      } else {
        for (const item of batch.upserts) await this.#upsert(trx, item)
        for (const target of batch.deletes) await this.#delete(trx, target)
      }
      await this.#advanceIdentity(trx, batch.upserts)
    })
  }

  /**
   * PostgreSQL: the whole batch in one statement over `unnest` of column arrays (one round trip,
   * not one per row). Ids are unique within a coalesced batch, so ON CONFLICT sees each row once.
   */
  async #upsertAllPostgres(trx: Transaction<Database>, items: readonly Item[]): Promise<void> {
    if (items.length === 0) return
    await sql`
      INSERT INTO items (id, name, category, price, description, updated_at, version)
      SELECT u.id, u.name, u.category, u.price, u.description, u.updated_at, u.version
      FROM unnest(
        CAST(${items.map((item) => item.id)} AS integer[]), CAST(${items.map((item) => item.name)} AS text[]),
        CAST(${items.map((item) => item.category)} AS text[]), CAST(${items.map((item) => item.price)} AS integer[]),
        CAST(${items.map((item) => item.description)} AS text[]),
        CAST(${items.map((item) => item.updatedAt)} AS timestamptz[]), CAST(${items.map((item) => item.version)} AS integer[])
      ) AS u(id, name, category, price, description, updated_at, version)
      WHERE NOT EXISTS (
        SELECT 1 FROM ${sql.table(ITEM_TOMBSTONES_TABLE)} t WHERE t.id = u.id AND t.version >= u.version
      )
      ON CONFLICT (id) DO UPDATE SET
        name = excluded.name, category = excluded.category, price = excluded.price,
        description = excluded.description, updated_at = excluded.updated_at, version = excluded.version
      WHERE excluded.version > items.version
    `.execute(trx)
  }

  async #deleteAllPostgres(
    trx: Transaction<Database>,
    targets: readonly VersionedDelete<number>[],
  ): Promise<void> {
    if (targets.length === 0) return
    const ids = targets.map((target) => target.id)
    const versions = targets.map((target) => target.version)
    await sql`
      DELETE FROM items USING unnest(CAST(${ids} AS integer[]), CAST(${versions} AS integer[])) AS d(id, version)
      WHERE items.id = d.id AND items.version < d.version
    `.execute(trx)
    await sql`
      INSERT INTO ${sql.table(ITEM_TOMBSTONES_TABLE)} (id, version)
      SELECT d.id, d.version FROM unnest(CAST(${ids} AS bigint[]), CAST(${versions} AS bigint[])) AS d(id, version)
      ON CONFLICT (id) DO UPDATE SET version = excluded.version
      WHERE excluded.version > ${sql.table(ITEM_TOMBSTONES_TABLE)}.version
    `.execute(trx)
  }

  async #upsert(trx: Transaction<Database>, item: Item): Promise<void> {
    const timestamp =
      this.#dialect === 'postgres' ? sql`CAST(${item.updatedAt} AS timestamptz)` : sql`${item.updatedAt}`
    await sql`
      INSERT INTO items (id, name, category, price, description, updated_at, version)
      SELECT CAST(${item.id} AS integer), CAST(${item.name} AS text), CAST(${item.category} AS text),
        CAST(${item.price} AS integer), CAST(${item.description} AS text), ${timestamp}, CAST(${item.version} AS integer)
      WHERE NOT EXISTS (
        SELECT 1 FROM ${sql.table(ITEM_TOMBSTONES_TABLE)} t WHERE t.id = ${item.id} AND t.version >= ${item.version}
      )
      ON CONFLICT (id) DO UPDATE SET
        name = excluded.name, category = excluded.category, price = excluded.price,
        description = excluded.description, updated_at = excluded.updated_at, version = excluded.version
      WHERE excluded.version > items.version
    `.execute(trx)
  }

  async #delete(trx: Transaction<Database>, target: VersionedDelete<number>): Promise<void> {
    await sql`DELETE FROM items WHERE id = ${target.id} AND version < ${target.version}`.execute(trx)
    await sql`
      INSERT INTO ${sql.table(ITEM_TOMBSTONES_TABLE)} (id, version) VALUES (${target.id}, ${target.version})
      ON CONFLICT (id) DO UPDATE SET version = excluded.version
      WHERE excluded.version > ${sql.table(ITEM_TOMBSTONES_TABLE)}.version
    `.execute(trx)
  }

  /**
   * Ids of rows created through write-behind come from Redis, not from the identity column; move
   * PostgreSQL's sequence past them so a later plain INSERT cannot collide. SQLite picks
   * max(rowid) + 1 by itself.
   */
  async #advanceIdentity(trx: Transaction<Database>, upserts: readonly Item[]): Promise<void> {
    if (this.#dialect !== 'postgres' || upserts.length === 0) return
    const highest = Math.max(...upserts.map((item) => item.id))
    if (highest <= this.#highestId) return
    await sql`SELECT setval(pg_get_serial_sequence('items', 'id'), GREATEST(${highest}, (SELECT COALESCE(max(id), 1) FROM items)))`.execute(
      trx,
    )
    this.#highestId = highest
  }
}
