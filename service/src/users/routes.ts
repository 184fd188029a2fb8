import type { Repositories, ServiceApp } from '../context.js'
import { NotFoundError } from '../errors.js'
import { DEFAULT_PAGE_SIZE, IdParams, NoQuery } from '../http/common-schemas.js'
import { errorResponses } from '../http/error-schema.js'
import { User, UserList, UserListQuery, type UserWithPosts } from './schemas.js'

/**
 * `GET /users/:id` and `GET /users?include=posts&strategy=naive|batched`. Both strategies answer
 * the same JSON; `naive` issues 1 + N queries on purpose (the N+1 case), `batched` issues 2.
 */
export function registerUsersRoutes(
  app: ServiceApp,
  users: Repositories['users'],
  posts: Repositories['posts'],
): void {
  app.get(
    '/users',
    { schema: { querystring: UserListQuery, response: { 200: UserList, ...errorResponses(400) } } },
    async (request) => {
      const { page = 1, size = DEFAULT_PAGE_SIZE, include, strategy = 'batched' } = request.query
      const result = await users.list(page, size)
      let data: UserWithPosts[] = result.users
      if (include === 'posts') {
        if (strategy === 'naive') {
          data = []
          for (const user of result.users) {
            data.push({ ...user, posts: await posts.summariesByUser(user.id) })
          }
        } else {
          const byUser = await posts.summariesByUsers(result.users.map((user) => user.id))
          data = result.users.map((user) => ({ ...user, posts: byUser.get(user.id) ?? [] }))
        }
      }
      return { data, page, size, hasMore: result.hasMore }
    },
  )

  app.get(
    '/users/:id',
    {
      schema: {
        params: IdParams,
        querystring: NoQuery,
        response: { 200: User, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const user = await users.findById(request.params.id)
      if (user === undefined) throw new NotFoundError('User', request.params.id)
      return user
    },
  )
}
