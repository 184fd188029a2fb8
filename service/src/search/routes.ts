import { ITEM_SEARCH_TAG } from '../cache/service-cache.js'
import type { Repositories, ServiceApp } from '../context.js'
import { HotpathError } from '../../../src/errors.js'
import { errorResponses } from '../http/error-schema.js'
import type { RouteCaching } from '../http/route-caching.js'
import { normalizeQuery } from './normalize-query.js'
import { DEFAULT_SEARCH_LIMIT, SearchQuery, SearchResult } from './schemas.js'

/**
 * `GET /search/items?q=…&limit=…`: items whose name contains the normalised query. Results are
 * cached under a hash of the normalised query, so equivalent spellings share one entry; any item
 * write drops them all (namespace bump).
 */
export function registerSearchRoutes(
  app: ServiceApp,
  search: Repositories['search'],
  caching: RouteCaching,
): void {
  const { cache } = caching
  app.get(
    '/search/items',
    {
      schema: { querystring: SearchQuery, response: { 200: SearchResult, ...errorResponses(400) } },
      config: {
        httpCache: {
          policy: { scope: 'public', noCache: true },
          ttl: caching.ttl,
          private: false,
          tags: [ITEM_SEARCH_TAG],
        },
      },
    },
    async (request, reply) => {
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
      const limit = request.query.limit ?? DEFAULT_SEARCH_LIMIT
      const load = () => search.searchItems(query, limit)
      const read = cache ? await cache.search(query, limit, load) : { value: await load(), source: undefined }
      if (read.source !== undefined) reply.header('x-cache', read.source)
      return { query, data: read.value }
    },
  )
}
