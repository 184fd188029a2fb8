import type { Db } from '../db/database.js'
import type { User } from './schemas.js'

const USER_COLUMNS = ['id', 'name', 'email', 'created_at as createdAt'] as const

export interface UserPage {
  users: User[]
  hasMore: boolean
}

/** What `GET /me/balance` needs about the owner of a token. */
export interface UserBalance {
  id: number
  balanceCents: number
}

/**
 * Data access for users. Tokens are looked up by their SHA-256 hash only.
 *
 * @example
 * const users = new UsersRepository(db)
 * const user = await users.findById(1)
 */
export class UsersRepository {
  readonly #db: Db

  constructor(db: Db) {
    this.#db = db
  }

  async findById(id: number): Promise<User | undefined> {
    return this.#db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst()
  }

  async exists(id: number): Promise<boolean> {
    const row = await this.#db.selectFrom('users').select('id').where('id', '=', id).executeTakeFirst()
    return row !== undefined
  }

  /** One page in id order, with one extra row fetched to know whether another page follows. */
  async list(page: number, size: number): Promise<UserPage> {
    const users = await this.#db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .orderBy('id')
      .limit(size + 1)
      .offset((page - 1) * size)
      .execute()
    const hasMore = users.length > size
    if (hasMore) users.pop()
    return { users, hasMore }
  }

  async findBalanceByTokenHash(tokenHash: string): Promise<UserBalance | undefined> {
    return this.#db
      .selectFrom('users')
      .select(['id', 'balance_cents as balanceCents'])
      .where('api_token_hash', '=', tokenHash)
      .executeTakeFirst()
  }

  async count(): Promise<number> {
    const row = await this.#db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow()
    return Number(row.count)
  }
}
