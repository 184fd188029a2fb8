import cluster, { type Worker } from 'node:cluster'
import type { FastifyBaseLogger } from 'fastify'
import { STOP_MESSAGE } from './messages.js'
import { RestartBackoff, type RestartBackoffOptions } from './restart-backoff.js'

/** How long a new worker may take to listen before a rolling restart gives up on it. */
export const DEFAULT_READY_TIMEOUT_MS = 60_000

export interface PrimaryOptions {
  /** Workers to keep running. */
  workers: number
  log: FastifyBaseLogger
  /** Workers still running this long after SIGTERM/SIGINT are killed and the primary exits 1. */
  shutdownTimeoutMs: number
  /** @default 60000 */
  readyTimeoutMs?: number
  /** Delay before replacing crashed workers. @default {} */
  backoff?: RestartBackoffOptions
}

interface Tracked {
  readonly worker: Worker
  listening: boolean
  /** Asked to stop (rolling restart or shutdown): its exit is expected. */
  retiring: boolean
  /** Forked by a rolling restart and not listening yet: if it dies, the restart aborts instead. */
  candidate: boolean
}

/**
 * The cluster primary of `hotpath serve --workers N`. It serves nothing itself: it forks N workers
 * that share the listening port, replaces a worker that dies unexpectedly (after a back-off when
 * they keep dying), replaces them one at a time on SIGHUP or SIGUSR2 (rolling restart: the next
 * old worker stops only once its replacement listens), and on SIGTERM/SIGINT asks every worker to
 * stop gracefully and exits 0 when all are gone.
 */
export function runPrimary(options: PrimaryOptions): void {
  const { log } = options
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
  const backoff = new RestartBackoff(options.backoff)
  const tracked = new Map<number, Tracked>()
  const pendingForks = new Set<NodeJS.Timeout>()
  let stopping = false
  let rolling = false

  const fork = (candidate = false): Worker => {
    const worker = cluster.fork()
    tracked.set(worker.id, { worker, listening: false, retiring: false, candidate })
    // A message to a worker that just died fails with 'error'; unhandled, it would end the primary.
    worker.on('error', (error) => log.warn({ worker: worker.id, err: error }, 'worker channel error'))
    log.info({ worker: worker.id, workerPid: worker.process.pid }, 'worker started')
    return worker
  }

  cluster.on('listening', (worker, address) => {
    const entry = tracked.get(worker.id)
    if (entry === undefined || entry.listening) return
    entry.listening = true
    entry.candidate = false
    log.info({ worker: worker.id, workerPid: worker.process.pid, port: address.port }, 'worker listening')
  })

  cluster.on('exit', (worker, code, signal) => {
    const entry = tracked.get(worker.id)
    tracked.delete(worker.id)
    const facts = { worker: worker.id, workerPid: worker.process.pid, code, signal }
    if (stopping || entry?.retiring || entry?.candidate) {
      log.info(facts, 'worker exited')
      if (stopping && tracked.size === 0) {
        log.info('stopped')
        process.exit(0)
      }
      return
    }
    const delay = backoff.next()
    log.error({ ...facts, restartInMs: delay }, 'worker died unexpectedly; replacing it')
    const timer = setTimeout(() => {
      pendingForks.delete(timer)
      if (!stopping) fork()
    }, delay)
    pendingForks.add(timer)
  })

  const waitForExit = (worker: Worker, timeoutMs: number): Promise<void> =>
    new Promise((resolve) => {
      if (worker.isDead()) return resolve()
      const timer = setTimeout(() => {
        log.error({ worker: worker.id }, `worker did not stop within ${timeoutMs} ms; killing it`)
        worker.process.kill('SIGKILL')
      }, timeoutMs)
      worker.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
    })

  const waitForListening = (worker: Worker): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), readyTimeoutMs)
      const onListening = () => finish(true)
      const onExit = () => finish(false)
      function finish(ok: boolean) {
        clearTimeout(timer)
        worker.off('listening', onListening)
        worker.off('exit', onExit)
        resolve(ok)
      }
      worker.once('listening', onListening)
      worker.once('exit', onExit)
    })

  const retire = (entry: Tracked): Promise<void> => {
    entry.retiring = true
    if (entry.worker.isConnected()) entry.worker.send({ cmd: STOP_MESSAGE })
    else entry.worker.process.kill('SIGTERM')
    return waitForExit(entry.worker, options.shutdownTimeoutMs)
  }

  const rollingRestart = async (signal: NodeJS.Signals) => {
    if (stopping || rolling) {
      log.warn({ signal }, 'rolling restart ignored: one is running or the primary is stopping')
      return
    }
    rolling = true
    const old = [...tracked.values()].filter((entry) => !entry.retiring)
    log.info({ signal, workers: old.length }, 'rolling restart: replacing workers one at a time')
    try {
      for (const entry of old) {
        if (stopping) return
        if (entry.worker.isDead()) continue
        const fresh = fork(true)
        if (!(await waitForListening(fresh))) {
          log.error(
            { worker: fresh.id },
            'rolling restart aborted: the new worker did not listen; the old workers keep serving',
          )
          const started = tracked.get(fresh.id)
          if (started !== undefined) await retire(started)
          return
        }
        if (stopping) return
        await retire(entry)
      }
      log.info('rolling restart done')
    } finally {
      rolling = false
    }
  }

  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: killing the workers without waiting')
      for (const { worker } of tracked.values()) worker.process.kill('SIGKILL')
      process.exit(1)
    }
    stopping = true
    for (const timer of pendingForks) clearTimeout(timer)
    pendingForks.clear()
    log.info({ signal, workers: tracked.size }, 'shutting down: asking every worker to stop')
    if (tracked.size === 0) {
      log.info('stopped')
      process.exit(0)
    }
    const timer = setTimeout(() => {
      log.error(`workers did not stop within ${options.shutdownTimeoutMs} ms; killing them`)
      for (const { worker } of tracked.values()) worker.process.kill('SIGKILL')
      process.exit(1)
    }, options.shutdownTimeoutMs)
    timer.unref()
    for (const entry of tracked.values()) {
      entry.retiring = true
      if (entry.worker.isConnected()) entry.worker.send({ cmd: STOP_MESSAGE })
      else entry.worker.process.kill('SIGTERM')
    }
  }

  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
  process.on('SIGHUP', (signal) => void rollingRestart(signal))
  process.on('SIGUSR2', (signal) => void rollingRestart(signal))

  log.info({ workers: options.workers }, 'primary started: forking workers')
  for (let i = 0; i < options.workers; i++) fork()
}
