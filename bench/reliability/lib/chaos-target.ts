/**
 * Bench target of the reliability runs: the reference service built exactly as `hotpath serve`
 * builds it (same config loader from the environment, same write-strategy setup, seeded when the
 * database is empty), in its own process through `bench/lib/spawn-target.ts`. The parent sets
 * `DATABASE_URL`, `REDIS_URL`, `CACHE`, `WRITE_STRATEGY`, `SEED_*`… in the child's environment.
 */
import { appendFileSync } from 'node:fs'
import { request } from 'undici'
import { buildApp, type ServiceSetup } from '../../../service/src/app.js'
import { loadConfig, serviceVariableNames } from '../../../service/src/config.js'
import { createDatabase } from '../../../service/src/db/create-database.js'
import { ItemsRepository } from '../../../service/src/items/repository.js'
import { seedDatabase } from '../../../service/src/seed.js'
import {
  writeStrategyFromEnv,
  writeStrategySetup,
} from '../../../service/src/write-strategy/write-strategy-plugin.js'
import type { RunningTarget } from '../../lib/target.js'

/**
 * The child's environment: `settings` on top of every other service variable blanked (the service
 * reads `''` as unset, so its default applies): a value exported in the shell that starts the run
 * never changes what it measures.
 */
export function serviceEnvironment(settings: Record<string, string>): Record<string, string> {
  return { ...Object.fromEntries(serviceVariableNames().map((name) => [name, ''])), ...settings }
}

/** Path of the observation route {@link startObserved} adds. */
export const STATE_PATH = '/__reliability/state'

/**
 * Ask a running target for its state (`gc`: after a full GC, when it runs with `--expose-gc`);
 * `undefined` when it does not answer within `timeoutMs` (it may be stalled by a fault).
 */
export async function readServiceState(
  url: string,
  options: { gc?: boolean; timeoutMs: number },
): Promise<ServiceState | undefined> {
  try {
    const response = await request(`${url}${STATE_PATH}${options.gc ? '/gc' : ''}`, {
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    })
    if (response.statusCode !== 200) {
      await response.body.dump()
      return undefined
    }
    return (await response.body.json()) as ServiceState
  } catch {
    return undefined
  }
}

/** What {@link STATE_PATH} answers: the process's memory and the data cache's state. */
export interface ServiceState {
  readonly memory: NodeJS.MemoryUsage
  /** Heap used right after a full GC (only when the process runs with `--expose-gc`). */
  readonly heapAfterGc: number | null
  readonly cache: {
    readonly l1Trusted: boolean
    readonly l2Circuit: string
    readonly l2Errors: number
    readonly l1Items: number
    readonly l1Bytes: number
  } | null
}

/** The service as `hotpath serve` runs it, configured by the environment. */
export function start(port: number): Promise<RunningTarget> {
  return startService(port, [])
}

/**
 * {@link start} plus `GET /__reliability/state` (memory, cache trust and breaker), the tiny stats
 * call the chaos and soak runs poll, and `GET /__reliability/state/gc`, which runs a full GC first
 * when the process has `--expose-gc` (a path, not a query parameter: the service refuses
 * undeclared ones). With `RELIABILITY_ERROR_LOG` set, every error a request ends with is appended
 * to that file as one JSON line.
 */
export function startObserved(port: number): Promise<RunningTarget> {
  const errorLog = process.env.RELIABILITY_ERROR_LOG
  return startService(port, errorLog ? [stateRoute, logErrorsTo(errorLog)] : [stateRoute])
}

/** Append each error a request ended with (one JSON line: route, code, message, cause) to `file`. */
function logErrorsTo(file: string): ServiceSetup {
  return (app) => {
    app.addHook('onError', (request, _reply, error, done) => {
      const line = {
        route: `${request.method} ${request.routeOptions.url ?? request.url}`,
        code: (error as { code?: unknown }).code ?? null,
        message: error.message,
        cause: error.cause instanceof Error ? error.cause.message : null,
      }
      appendFileSync(file, `${JSON.stringify(line)}\n`)
      done()
    })
  }
}

const stateRoute: ServiceSetup = (app) => {
  const gc = (globalThis as { gc?: () => void }).gc
  const state = (collect: boolean): ServiceState => {
    let heapAfterGc: number | null = null
    const memory = process.memoryUsage()
    if (collect && gc !== undefined) {
      gc()
      heapAfterGc = process.memoryUsage().heapUsed
    }
    const stats = app.service.cache?.cache.stats()
    return {
      memory,
      heapAfterGc,
      cache:
        stats === undefined
          ? null
          : {
              l1Trusted: stats.l1Trusted,
              l2Circuit: stats.l2Circuit,
              l2Errors: stats.l2.errors,
              l1Items: stats.l1Size.items,
              l1Bytes: stats.l1Size.bytes,
            },
    }
  }
  app.get(STATE_PATH, () => state(false))
  app.get(`${STATE_PATH}/gc`, () => state(true))
}

/** {@link start} plus extra setup steps (routes a run needs to observe the process). */
export async function startService(port: number, extra: readonly ServiceSetup[]): Promise<RunningTarget> {
  const config = loadConfig(process.env, { port, host: '127.0.0.1' })
  // As `hotpath serve` opens it for requests (pool bounds and timeouts from the environment).
  const database = await createDatabase(config.database, {
    poolSize: config.dbPoolSize,
    acquireTimeout: config.dbPoolAcquireTimeout,
    statementTimeout: config.dbStatementTimeout,
    migrate: true,
  })
  try {
    if ((await new ItemsRepository(database.db).count()) === 0) await seedDatabase(database, config.seed)
    const app = await buildApp(config, {
      database,
      plugins: [writeStrategySetup({ strategy: writeStrategyFromEnv(process.env) }), ...extra],
    })
    await app.listen({ port, host: '127.0.0.1' })
    return {
      async close() {
        await app.close()
        await database.close()
      },
    }
  } catch (error) {
    await database.close()
    throw error
  }
}
