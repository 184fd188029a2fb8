import Fastify, { LogController } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { sendableSerialization } from '../../src/fastify/sendable-serialization.js'
import { createServiceCache, type ServiceCache } from './cache/service-cache.js'
import type { ServiceConfig } from './config.js'
import type { Repositories, ServiceApp, ServiceContext } from './context.js'
import { createDatabase, type ServiceDatabase } from './db/create-database.js'
import { registerHealthRoutes } from './health/routes.js'
import { clientErrorHandler, frameworkErrors, installErrorHandler } from './http/error-handler.js'
import { createValidatorCompiler } from './http/validator-compiler.js'
import { ItemsRepository } from './items/repository.js'
import { registerItemsRoutes } from './items/routes.js'
import { registerMeRoutes } from './me/routes.js'
import { PostsRepository } from './posts/repository.js'
import { registerRateLimit } from './rate-limit/rate-limit-plugin.js'
import { registerPostsRoutes } from './posts/routes.js'
import { SearchRepository } from './search/repository.js'
import { registerSearchRoutes } from './search/routes.js'
import { registerServicePlugins } from './service-plugins.js'
import { registerStaticDataRoutes } from './static-data/routes.js'
import { registerRatesRoutes } from './upstream/rates-routes.js'
import { UsersRepository } from './users/repository.js'
import { registerUsersRoutes } from './users/routes.js'

/**
 * Runs after `app.service` exists and before the routes are registered: register Fastify plugins
 * (wrap them with `fastify-plugin` so their hooks reach the routes) or replace repositories in
 * `app.service.repositories` with wrappers.
 */
export type ServiceSetup = (app: ServiceApp) => void | Promise<void>

export interface BuildAppOptions {
  /**
   * An already open database. The app does not close it; without one, the app opens the database
   * from `config` (and migrates it) and closes it on `app.close()`.
   * @default undefined
   */
  database?: ServiceDatabase
  /**
   * Setup steps run in order before the routes (plugins, repository wrappers).
   * @default []
   */
  plugins?: readonly ServiceSetup[]
  /**
   * Query parameters every route accepts without declaring them (e.g. `profile` for `?profile=1`);
   * any other undeclared parameter is a 400.
   * @default []
   */
  ignoredQueryParams?: readonly string[]
  /**
   * Register the built-in plugins from `config` (HTTP cache, Server-Timing, metrics, profiling and
   * detectors, exports, stats). Off gives the bare routes (the baseline of benchmarks).
   * @default true
   */
  servicePlugins?: boolean
}

/**
 * Build the reference service: a Fastify 5 app with TypeBox schemas on every route, strict request
 * validation and one JSON error format. Call `listen()` or `inject()` on the result.
 *
 * @example
 * const app = await buildApp(loadConfig(process.env))
 * const response = await app.inject({ method: 'GET', url: '/items/1' })
 * await app.close()
 */
export async function buildApp(config: ServiceConfig, options: BuildAppOptions = {}): Promise<ServiceApp> {
  const ownsDatabase = options.database === undefined
  const database =
    options.database ??
    (await createDatabase(config.database, {
      poolSize: config.dbPoolSize,
      acquireTimeout: config.dbPoolAcquireTimeout,
      statementTimeout: config.dbStatementTimeout,
      migrate: true,
    }))

  const app = Fastify({
    logger: { level: config.logLevel },
    bodyLimit: config.bodyLimit,
    // Off by default: behind nginx, set TRUST_PROXY to its address so request.ip is the client's.
    ...(config.trustProxy === false ? {} : { trustProxy: config.trustProxy }),
    frameworkErrors,
    clientErrorHandler,
    // Non-ASCII JSON goes to Node as bytes: cheaper to send than the two-byte string.
    schemaController: sendableSerialization(),
    // One log line per request costs more than the hot-path handler itself; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>()

  let cache: ServiceCache | undefined
  try {
    const ignored = [...(options.ignoredQueryParams ?? [])]
    if (config.diagnostics.profiling && !ignored.includes('profile')) ignored.push('profile')
    app.setValidatorCompiler(createValidatorCompiler(ignored))
    // Only JSON bodies are accepted: anything else is a 415, not a string that fails validation.
    app.removeContentTypeParser('text/plain')
    installErrorHandler(app)

    const repositories: Repositories = {
      items: new ItemsRepository(database.db),
      users: new UsersRepository(database.db),
      posts: new PostsRepository(database.db),
      search: new SearchRepository(database.db),
    }
    cache =
      config.cache.enabled || config.httpCache
        ? createServiceCache({
            redisUrl: config.redisUrl,
            prefix: config.cache.prefix,
            ttl: config.cache.ttl,
            grace: config.cache.grace,
            l1MaxBytes: config.cache.l1MaxBytes,
            reads: config.cache.enabled,
            responseTags: config.httpCache,
          })
        : undefined
    const context: ServiceContext = { config, database, repositories, cache }
    app.decorate('service', context)
    if (ownsDatabase) app.addHook('onClose', () => database.close())
    const owned = cache
    if (owned) app.addHook('onClose', () => owned.close())
    // Graceful shutdown: requests still in flight when close() starts are answered with
    // `Connection: close`, so keep-alive clients let go and close() does not wait for their
    // sockets to idle out (Fastify only closes connections that are idle when close() starts).
    let closing = false
    app.addHook('preClose', async () => {
      closing = true
    })
    // Callback style: no promise per request on the hot path.
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (closing) reply.header('connection', 'close')
      done(null, payload)
    })

    // First of the request hooks: a throttled client is refused before any cache lookup.
    if (config.rateLimit !== false) {
      await registerRateLimit(app, {
        budget: config.rateLimit,
        redisUrl: config.redisUrl,
        prefix: config.cache.prefix,
      })
    }
    for (const setup of options.plugins ?? []) await setup(app)
    if (options.servicePlugins ?? true) await registerServicePlugins(app)

    const routeCache = { cache, ttl: config.cache.ttl, requireIfMatch: config.requireIfMatch }
    registerItemsRoutes(app, repositories.items, routeCache)
    registerUsersRoutes(app, repositories.users, repositories.posts)
    registerPostsRoutes(app, repositories.posts, repositories.users, routeCache)
    registerSearchRoutes(app, repositories.search, routeCache)
    registerStaticDataRoutes(app)
    registerMeRoutes(app, repositories.users)
    registerHealthRoutes(app, database)
    const upstreamUrl = config.upstream.url
    if (upstreamUrl !== undefined)
      registerRatesRoutes(app, { ...config.upstream, url: upstreamUrl }, cache?.cache)
  } catch (error) {
    await cache?.close()
    if (ownsDatabase) await database.close()
    throw error
  }
  return app
}
