import type { Kysely } from 'kysely'
import type { ItemsTable } from '../items/table.js'
import type { PostsTable } from '../posts/table.js'
import type { UsersTable } from '../users/table.js'

/** The schema of the reference service, as Kysely sees it. Identical on SQLite and PostgreSQL. */
export interface Database {
  items: ItemsTable
  users: UsersTable
  posts: PostsTable
}

export type Dialect = 'sqlite' | 'postgres'

/** A typed Kysely instance over the service schema. */
export type Db = Kysely<Database>
