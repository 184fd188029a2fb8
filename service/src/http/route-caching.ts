import type { ServiceCache } from '../cache/service-cache.js'

/** What the cacheable routes need to know about caching, resolved once from the configuration. */
export interface RouteCaching {
  /** The service cache; `undefined` when both the data cache and the response cache are off. */
  readonly cache: ServiceCache | undefined
  /** Server-side lifetime of stored responses, in milliseconds (`CACHE_TTL`). */
  readonly ttl: number
  /** PUT/PATCH/DELETE on items without `If-Match` answer 428 (`REQUIRE_IF_MATCH`). */
  readonly requireIfMatch: boolean
}
