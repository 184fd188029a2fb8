import type { Repositories, ServiceApp } from '../context.js'
import { NotFoundError } from '../errors.js'
import { DEFAULT_PAGE_SIZE, IdParams } from '../http/common-schemas.js'
import { errorResponses } from '../http/error-schema.js'
import { PostList, PostListQuery } from './schemas.js'

/** `GET /users/:id/posts`: a user's posts, paged; 404 when the user does not exist. */
export function registerPostsRoutes(
  app: ServiceApp,
  posts: Repositories['posts'],
  users: Repositories['users'],
): void {
  app.get(
    '/users/:id/posts',
    {
      schema: {
        params: IdParams,
        querystring: PostListQuery,
        response: { 200: PostList, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { id } = request.params
      const { page = 1, size = DEFAULT_PAGE_SIZE } = request.query
      const result = await posts.listByUser(id, page, size)
      // An empty page is ambiguous: a user without posts, or no such user.
      if (result.posts.length === 0 && !(await users.exists(id))) throw new NotFoundError('User', id)
      return { data: result.posts, page, size, hasMore: result.hasMore }
    },
  )
}
