import type { Repositories, ServiceApp } from '../context.js'
import { HotpathError } from '../../../src/errors.js'
import { errorResponses } from '../http/error-schema.js'
import { normalizeQuery } from './normalize-query.js'
import { DEFAULT_SEARCH_LIMIT, SearchQuery, SearchResult } from './schemas.js'

/** `GET /search/items?q=…&limit=…`: items whose name contains the normalised query. */
export function registerSearchRoutes(app: ServiceApp, search: Repositories['search']): void {
  app.get(
    '/search/items',
    { schema: { querystring: SearchQuery, response: { 200: SearchResult, ...errorResponses(400) } } },
    async (request) => {
      const query = normalizeQuery(request.query.q)
      if (query === '') {
        throw new HotpathError(
          'E_VALIDATION',
          "Invalid query parameter 'q': it is blank; send 1 to 100 characters.",
          {
            statusCode: 400,
          },
        )
      }
      const data = await search.searchItems(query, request.query.limit ?? DEFAULT_SEARCH_LIMIT)
      return { query, data }
    },
  )
}
