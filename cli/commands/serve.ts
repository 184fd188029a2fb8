import cluster from 'node:cluster'
import type { Command } from 'commander'
import Fastify from 'fastify'
import { buildApp, type ServiceSetup } from '../../service/src/app.js'
import { runPrimary } from '../../service/src/cluster/run-primary.js'
import { superviseWorker, workerId } from '../../service/src/cluster/supervise-worker.js'
import { serveClusterMetrics } from '../../service/src/cluster/cluster-metrics.js'
import { memoryCachesIncoherent, resolveWorkers } from '../../service/src/cluster/workers-option.js'
import { loadConfig, type ServiceConfig } from '../../service/src/config.js'
import {
  createDatabase,
  type CreateDatabaseOptions,
  type ServiceDatabase,
} from '../../service/src/db/create-database.js'
import { ItemsRepository } from '../../service/src/items/repository.js'
import { seedDatabase } from '../../service/src/seed.js'
import { UsersRepository } from '../../service/src/users/repository.js'
import {
  writeStrategyFromEnv,
  writeStrategySetup,
  type WriteStrategySetupOptions,
} from '../../service/src/write-strategy/write-strategy-plugin.js'

/** In-flight requests get this long to finish after SIGINT/SIGTERM before the process gives up. */
export const SHUTDOWN_TIMEOUT_MS = 10_000

/** The environment switches of the service, shown by `hotpath serve --help`. */
const SERVE_ENVIRONMENT_HELP = `
Environment (besides PORT, HOST, DATABASE_URL, REDIS_URL, LOG_LEVEL):
  CACHE=on|off             data cache, cache-aside on items, lists, search, posts (on)
  CACHE_PREFIX, CACHE_TTL, CACHE_GRACE   Redis key prefix (hp), lifetime (60s), grace (10s)
  CACHE_L1_MAX_BYTES       in-process L1 byte budget of the data and response caches (64mib)
  RATE_LIMIT=off|<n>/<window>   requests per client address and token, e.g. 600/1m; shared through REDIS_URL (off)
  WRITE_BEHIND_PREFIX      Redis key prefix of the write-behind queue (hotpath:wb)
  TRUST_PROXY=<addresses>  proxies (e.g. 127.0.0.1) whose X-Forwarded-For gives the client address (off)
  HTTP_CACHE=on|off        server-side HTTP response cache (off)
  FAST_LANE=on|off         answer stored public responses before routing; needs HTTP_CACHE=on (off)
  REQUIRE_IF_MATCH=on|off  item writes without If-Match get 428 (off)
  PROFILING=on|off         ?profile=1 for requests with ADMIN_TOKEN (off)
  METRICS=on|off           GET /metrics (on); METRICS_TOKEN protects it
  SERVER_TIMING=on|full|off   Server-Timing header; full adds db/cache per request via AsyncLocalStorage (on)
  SLOW_QUERY_MS, N_PLUS_ONE_THRESHOLD, BLOCKING_THRESHOLD_MS   detectors (100, 0, 100; 0 = off; N+1 > 0 uses AsyncLocalStorage)
  WORKERS=N|auto           worker processes sharing the port, like --workers (auto = one per core)
  DB_POOL_SIZE             PostgreSQL connections per worker (10); keep workers x size <= max_connections
  DB_POOL_ACQUIRE_TIMEOUT  wait this long for a pooled connection, then 503 E_DB_POOL_EXHAUSTED (2s)
  DB_STATEMENT_TIMEOUT     PostgreSQL statement_timeout, e.g. 5s; a longer query gets 504 (unset: server's)

Signals: SIGTERM/SIGINT stop gracefully; with workers, SIGHUP or SIGUSR2 to the primary replaces
the workers one at a time (rolling restart).`

interface ServeFlags {
  port?: string
  host?: string
  databaseUrl?: string
  redisUrl?: string
  logLevel?: string
  workers?: string
  seed: boolean
}

/**
 * `hotpath serve`: migrate, seed when the database is empty, listen. On SIGINT/SIGTERM it stops
 * accepting connections, lets in-flight requests finish, closes the pools and exits 0.
 */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Start the reference service (seeds the database first when it is empty).')
    .option('--port <port>', 'port to listen on, 0 for any free port (default: PORT or 3000)')
    .option('--host <host>', 'address to bind (default: HOST or 127.0.0.1)')
    .option('--database-url <url>', 'sqlite:<file>, sqlite::memory: or postgres://… (default: DATABASE_URL)')
    .option('--redis-url <url>', 'Redis for the shared cache tier (default: REDIS_URL; unset = memory only)')
    .option(
      '--log-level <level>',
      'fatal, error, warn, info, debug, trace or silent (default: LOG_LEVEL or info)',
    )
    .option('--no-seed', 'do not seed an empty database')
    .option(
      '--workers <n>',
      "worker processes sharing the port: a number, or 'auto' for one per core; 1 = no primary (default: WORKERS or auto)",
    )
    .addHelpText('after', SERVE_ENVIRONMENT_HELP)
    .action(async (flags: ServeFlags) => {
      const config = loadConfig(process.env, flags)
      if (cluster.isWorker) return serveWorker(config)
      const workers = resolveWorkers(flags.workers, process.env, config)
      if (workers.count > 1) return servePrimary(config, flags, workers.count)
      // Migrations and the seed run without DB_STATEMENT_TIMEOUT (it is for requests); only then
      // is the serving pool opened with it.
      const setup = await createDatabase(config.database, setupDatabaseOptions(config))
      let database = setup
      let app: Awaited<ReturnType<typeof buildApp>> | undefined
      try {
        if (usesStatementTimeout(config)) {
          database = await createDatabase(config.database, databaseOptions(config, false))
        }
        const empty =
          (await new ItemsRepository(setup.db).count()) === 0 &&
          (await new UsersRepository(setup.db).count()) === 0
        app = await buildApp(config, {
          database,
          plugins: [writeStrategySetup(writeStrategyOptions())],
        })
        if (workers.note !== undefined) app.log.info(workers.note)
        if (empty && flags.seed) {
          app.log.info(
            { ...config.seed },
            'database is empty: seeding (set SEED_ITEMS/USERS/POSTS to change sizes)',
          )
          const result = await seedDatabase(setup, config.seed)
          app.log.info({ ...result }, 'seeded')
        }
        if (setup !== database) await setup.close()
        await app.listen({ port: config.port, host: config.host })
      } catch (error) {
        await app?.close()
        await database.close()
        await setup.close()
        throw error
      }

      const running = app
      let stopping = false
      const shutdown = (signal: NodeJS.Signals) => {
        if (stopping) {
          running.log.warn({ signal }, 'second signal: exiting without waiting')
          process.exit(1)
        }
        stopping = true
        running.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests')
        const timer = setTimeout(() => {
          running.log.error(`in-flight requests did not finish within ${SHUTDOWN_TIMEOUT_MS} ms; exiting`)
          process.exit(1)
        }, SHUTDOWN_TIMEOUT_MS)
        timer.unref()
        running
          .close()
          .then(() => database.close())
          .then(() => {
            clearTimeout(timer)
            running.log.info('stopped')
          })
          .catch((error: unknown) => {
            running.log.error({ err: error }, 'error during shutdown')
            process.exitCode = 1
          })
      }
      process.on('SIGINT', shutdown)
      process.on('SIGTERM', shutdown)
    })
}

/** The serving pool: size and both limits from the configuration. */
function databaseOptions(config: ServiceConfig, migrate = true): CreateDatabaseOptions {
  return {
    poolSize: config.dbPoolSize,
    acquireTimeout: config.dbPoolAcquireTimeout,
    statementTimeout: config.dbStatementTimeout,
    migrate,
  }
}

/** Migrating and seeding: no statement timeout, which would cancel a long index build or COPY. */
function setupDatabaseOptions(config: ServiceConfig): CreateDatabaseOptions {
  return { ...databaseOptions(config), statementTimeout: undefined }
}

function usesStatementTimeout(config: ServiceConfig): boolean {
  return config.database.dialect === 'postgres' && (config.dbStatementTimeout ?? 0) > 0
}

/** Migrate and seed once, here, before any worker opens the database; then fork the workers. */
async function servePrimary(config: ServiceConfig, flags: ServeFlags, workers: number): Promise<void> {
  // The primary serves nothing; a Fastify logger keeps its lines in the workers' format.
  const log = Fastify({ logger: { level: config.logLevel } }).log.child({ role: 'primary' })
  const database = await createDatabase(config.database, setupDatabaseOptions(config))
  try {
    const empty =
      (await new ItemsRepository(database.db).count()) === 0 &&
      (await new UsersRepository(database.db).count()) === 0
    if (empty && flags.seed) {
      log.info({ ...config.seed }, 'database is empty: seeding (set SEED_ITEMS/USERS/POSTS to change sizes)')
      const result = await seedDatabase(database, config.seed)
      log.info({ ...result }, 'seeded')
    }
  } finally {
    await database.close()
  }
  if (memoryCachesIncoherent(config)) {
    log.warn(
      { workers },
      'each worker has its own memory cache and, without REDIS_URL, no coherence bus: a write through one worker leaves the others serving their copy until CACHE_TTL; set REDIS_URL (or CACHE=off) with several workers',
    )
  }
  // Scrapes land on one worker; the primary merges every worker's registry for it.
  serveClusterMetrics()
  runPrimary({ workers, log, shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS })
}

/** Every log line of a worker (requests included) carries its cluster worker id. */
function workerLogBindings(id: number): ServiceSetup {
  return (app) => {
    const log = app.log as { setBindings?: (bindings: Record<string, unknown>) => void }
    log.setBindings?.({ worker: id })
  }
}

/** A cluster worker: the primary already migrated and seeded; open, listen, stop when told. */
async function serveWorker(config: ServiceConfig): Promise<void> {
  const supervisor = superviseWorker({ shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS })
  let database: ServiceDatabase | undefined
  let app: Awaited<ReturnType<typeof buildApp>> | undefined
  try {
    database = await createDatabase(config.database, databaseOptions(config, false))
    app = await buildApp(config, {
      database,
      plugins: [workerLogBindings(workerId() ?? 0), writeStrategySetup(writeStrategyOptions())],
    })
    if (supervisor.stopRequested) {
      // Told to stop while starting (a shutdown right after a fork): leave without listening.
      await app.close()
      await database.close()
      process.exit(0)
    }
    await app.listen({ port: config.port, host: config.host })
  } catch (error) {
    console.error(error)
    await app?.close().catch(() => {})
    await database?.close().catch(() => {})
    // The IPC channel would keep a failed worker alive; the primary replaces it (with back-off).
    process.exit(1)
  }
  supervisor.attach({ app, database })
}

/**
 * `WRITE_STRATEGY` and `WRITE_BEHIND_PREFIX` (the queue's Redis key prefix, default `hotpath:wb`):
 * services that must not share one queue on one Redis each set their own prefix.
 */
function writeStrategyOptions(): WriteStrategySetupOptions {
  const prefix = process.env.WRITE_BEHIND_PREFIX
  return {
    strategy: writeStrategyFromEnv(process.env),
    ...(prefix === undefined || prefix === '' ? {} : { prefix }),
  }
}
