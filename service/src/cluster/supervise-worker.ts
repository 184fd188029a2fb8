import cluster from 'node:cluster'
import type http from 'node:http'
import type { FastifyBaseLogger } from 'fastify'
import { DEFAULT_DRAIN_TIMEOUT_MS, drainConnections } from './drain-connections.js'
import { isStopMessage } from './messages.js'

/** What a worker needs to stop: the listening app and the database it opened itself. */
export interface WorkerParts {
  readonly app: { readonly server: http.Server; readonly log: FastifyBaseLogger; close(): Promise<unknown> }
  readonly database: { close(): Promise<void> }
}

export interface SuperviseWorkerOptions {
  /** The whole stop (drain, close, pools) must end within this, or the worker exits 1. */
  shutdownTimeoutMs: number
  /** @default 2000 */
  drainTimeoutMs?: number
}

/** Returned by {@link superviseWorker}: hand it the app once it listens. */
export interface WorkerSupervisor {
  /** True once a stop was asked for (check it before listening: no need to start then). */
  readonly stopRequested: boolean
  /** The worker is listening; a stop asked for before this runs now. */
  attach(parts: WorkerParts): void
}

/**
 * Run a cluster worker until it is told to stop: by the primary (an IPC message), or by SIGTERM /
 * SIGINT sent to it directly (Ctrl-C reaches every process of the group). Stopping drains the
 * connections (no request the worker accepted fails), closes the app (write-behind drains in its
 * preClose hook), closes the database and exits 0. SIGHUP and SIGUSR2 are the primary's (rolling
 * restart): a worker ignores them instead of dying of their default action.
 *
 * Call it before building the app, so that a stop that arrives while the worker is still starting
 * is not lost: it runs as soon as the app is attached.
 */
export function superviseWorker(options: SuperviseWorkerOptions): WorkerSupervisor {
  let parts: WorkerParts | undefined
  let requested: string | undefined
  let stopping = false
  const stop = () => {
    if (stopping || parts === undefined || requested === undefined) return
    stopping = true
    const { app, database } = parts
    app.log.info({ reason: requested }, 'worker stopping: no new connections, finishing in-flight requests')
    const timer = setTimeout(() => {
      app.log.error(`worker did not stop within ${options.shutdownTimeoutMs} ms; exiting`)
      process.exit(1)
    }, options.shutdownTimeoutMs)
    timer.unref()
    drainConnections(app.server, options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS)
      .then(() => app.close())
      .then(() => database.close())
      .then(() => {
        app.log.info('stopped')
        process.exit(0)
      })
      .catch((error: unknown) => {
        app.log.error({ err: error }, 'error during shutdown')
        process.exit(1)
      })
  }
  const request = (reason: string) => {
    requested ??= reason
    stop()
  }
  process.on('message', (message: unknown) => {
    if (isStopMessage(message)) request('primary')
  })
  process.on('SIGTERM', () => request('SIGTERM'))
  process.on('SIGINT', () => request('SIGINT'))
  const ignore = (signal: NodeJS.Signals) =>
    parts?.app.log.debug({ signal }, 'signal ignored by the worker (rolling restarts are the primary’s)')
  process.on('SIGHUP', ignore)
  process.on('SIGUSR2', ignore)
  return {
    get stopRequested() {
      return requested !== undefined
    },
    attach(attached) {
      parts = attached
      stop()
    },
  }
}

/** The cluster worker id (1, 2, …), or undefined in the primary or a single process. */
export function workerId(): number | undefined {
  return cluster.worker?.id
}
