import type { Generated } from 'kysely'

/** The `posts` table; `user_id` references `users(id)`. */
export interface PostsTable {
  id: Generated<number>
  user_id: number
  title: string
  body: string
  created_at: string
}
