/**
 * Lets each bench/http target run on its own: `npx tsx bench/http/<target>.ts [port]`.
 */
import type { Server } from 'node:http'
import { pathToFileURL } from 'node:url'
import type { RunningTarget, StartTarget } from '../lib/target.js'

/**
 * Listen with a plain `node:http` server on 127.0.0.1:`port`; closing stops it, drops its
 * keep-alive connections and then runs `cleanup`.
 */
export async function listenPlain(server: Server, port: number, cleanup: () => void): Promise<RunningTarget> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
        cleanup()
      }),
  }
}

/** Start `start` when `moduleUrl` is the script node was launched with; close on SIGINT/SIGTERM. */
export function runAlone(moduleUrl: string, start: StartTarget): void {
  const entry = process.argv[1]
  if (!entry || pathToFileURL(entry).href !== moduleUrl) return
  const port = Number(process.argv[2] ?? process.env.PORT ?? 3000)
  void start(port).then((target) => {
    console.log(`listening on http://127.0.0.1:${port} (try /items/1)`)
    const stop = () => void target.close().finally(() => process.exit(0))
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
