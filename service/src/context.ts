import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { ServiceCache } from './cache/service-cache.js'
import type { ServiceConfig } from './config.js'
import type { ServiceDatabase } from './db/create-database.js'
import type { ItemsRepository } from './items/repository.js'
import type { PostsRepository } from './posts/repository.js'
import type { SearchRepository } from './search/repository.js'
import type { UsersRepository } from './users/repository.js'

/** The public methods of a repository class: what a wrapper (a cache, a write strategy) implements. */
export type RepositoryApi<T> = { [K in keyof T]: T[K] }

/**
 * The data access of the service. A plugin given to `buildApp` may replace any entry with a
 * wrapper before the routes are registered; the routes use whatever is here at that point.
 */
export interface Repositories {
  items: RepositoryApi<ItemsRepository>
  users: RepositoryApi<UsersRepository>
  posts: RepositoryApi<PostsRepository>
  search: RepositoryApi<SearchRepository>
}

/** What the service is made of, reachable from any plugin as `app.service`. */
export interface ServiceContext {
  readonly config: ServiceConfig
  readonly database: ServiceDatabase
  readonly repositories: Repositories
  /**
   * The service cache (data cache-aside and the invalidations of every write), or `undefined`
   * when both `CACHE` and `HTTP_CACHE` are off. Write paths call `itemWritten` / `itemDeleted` /
   * `userChanged` on it after the database accepted a change.
   */
  readonly cache: ServiceCache | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The reference service's configuration, database and repositories. */
    service: ServiceContext
  }
}

/** The Fastify instance type of the service: default server, TypeBox type provider. */
export type ServiceApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>
