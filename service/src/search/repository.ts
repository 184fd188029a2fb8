import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import type { Item } from '../items/schemas.js'
import { escapeLike } from './normalize-query.js'
import { ITEM_COLUMNS } from '../items/repository.js'

/**
 * Substring search over item names. Deliberately a scan (`lower(name) LIKE '%…%'`): it is the slow
 * query of the reference service, the one caching and profiling have something to show on.
 * Case folding of non-ASCII letters follows the database (SQLite's `lower()` folds ASCII only).
 *
 * @example
 * const search = new SearchRepository(db)
 * const lamps = await search.searchItems(normalizeQuery('  LAMP '), 20)
 */
export class SearchRepository {
  readonly #db: Db

  constructor(db: Db) {
    this.#db = db
  }

  /** Items whose name contains the already normalised `query`, in id order. */
  async searchItems(query: string, limit: number): Promise<Item[]> {
    const pattern = `%${escapeLike(query)}%`
    return this.#db
      .selectFrom('items')
      .select(ITEM_COLUMNS)
      .where(sql<boolean>`lower(name) like ${pattern} escape '\\'`)
      .orderBy('id')
      .limit(limit)
      .execute()
  }
}
