import { userTag } from '../cache/service-cache.js'
import type { Repositories, ServiceApp } from '../context.js'
import { NotFoundError } from '../errors.js'
import { DEFAULT_PAGE_SIZE, IdParams } from '../http/common-schemas.js'
import { errorResponses } from '../http/error-schema.js'
import type { RouteCaching } from '../http/route-caching.js'
import { PostList, PostListQuery } from './schemas.js'

/**
 * `GET /users/:id/posts`: a user's posts, paged; 404 when the user does not exist. Pages are cached
 * with the tag `user:{id}`, which a change to the user or their posts invalidates
 * (`ServiceCache.userChanged`).
 */
export function registerPostsRoutes(
  app: ServiceApp,
  posts: Repositories['posts'],
  users: Repositories['users'],
  caching: RouteCaching,
): void {
  const { cache } = caching
  app.get(
    '/users/:id/posts',
    {
      schema: {
        params: IdParams,
        querystring: PostListQuery,
        response: { 200: PostList, ...errorResponses(400, 404) },
      },
      config: {
        httpCache: {
          policy: { scope: 'public', noCache: true },
          ttl: caching.ttl,
          private: false,
          tags: (request) => [userTag((request.params as { id: number }).id)],
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const { page = 1, size = DEFAULT_PAGE_SIZE } = request.query
      const load = () => posts.listByUser(id, page, size)
      const read = cache
        ? await cache.userPosts(id, page, size, load)
        : { value: await load(), source: undefined }
      if (read.source !== undefined) reply.header('x-cache', read.source)
      const result = read.value
      // An empty page is ambiguous: a user without posts, or no such user.
      if (result.posts.length === 0 && !(await users.exists(id))) throw new NotFoundError('User', id)
      return { data: result.posts, page, size, hasMore: result.hasMore }
    },
  )
}
