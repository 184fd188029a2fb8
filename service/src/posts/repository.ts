import type { Db } from '../db/database.js'
import type { Post, PostSummary } from './schemas.js'

const POST_COLUMNS = ['id', 'user_id as userId', 'title', 'body', 'created_at as createdAt'] as const
const SUMMARY_COLUMNS = ['id', 'title', 'created_at as createdAt'] as const

export interface PostPage {
  posts: Post[]
  hasMore: boolean
}

/**
 * Data access for posts, including both ways of loading the posts of many users: one query per
 * user ({@link PostsRepository.summariesByUser}, the N+1 pattern) or one query for all of them
 * ({@link PostsRepository.summariesByUsers}).
 *
 * @example
 * const posts = new PostsRepository(db)
 * const byUser = await posts.summariesByUsers([1, 2, 3]) // Map { 1 => [...], 2 => [...], 3 => [...] }
 */
export class PostsRepository {
  readonly #db: Db

  constructor(db: Db) {
    this.#db = db
  }

  /** One page of a user's posts in id order. */
  async listByUser(userId: number, page: number, size: number): Promise<PostPage> {
    const posts = await this.#db
      .selectFrom('posts')
      .select(POST_COLUMNS)
      .where('user_id', '=', userId)
      .orderBy('id')
      .limit(size + 1)
      .offset((page - 1) * size)
      .execute()
    const hasMore = posts.length > size
    if (hasMore) posts.pop()
    return { posts, hasMore }
  }

  /** All posts of one user, as summaries in id order: one query. */
  async summariesByUser(userId: number): Promise<PostSummary[]> {
    return this.#db
      .selectFrom('posts')
      .select(SUMMARY_COLUMNS)
      .where('user_id', '=', userId)
      .orderBy('id')
      .execute()
  }

  /** All posts of several users, as summaries grouped by user id, in id order: one query. */
  async summariesByUsers(userIds: readonly number[]): Promise<Map<number, PostSummary[]>> {
    const byUser = new Map<number, PostSummary[]>()
    if (userIds.length === 0) return byUser
    const rows = await this.#db
      .selectFrom('posts')
      .select([...SUMMARY_COLUMNS, 'user_id as userId'])
      .where('user_id', 'in', [...userIds])
      .orderBy('user_id')
      .orderBy('id')
      .execute()
    for (const { userId, ...summary } of rows) {
      let list = byUser.get(userId)
      if (list === undefined) byUser.set(userId, (list = []))
      list.push(summary)
    }
    return byUser
  }
}
