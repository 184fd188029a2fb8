import { once } from 'node:events'
import type http from 'node:http'
import net from 'node:net'

/** How long a stopping worker waits for keep-alive clients to come back and be told to close. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 2_000

function closeAfterResponse(_request: http.IncomingMessage, response: http.ServerResponse): void {
  response.shouldKeepAlive = false
}

/**
 * Stop accepting connections and let the open ones end on their own: every response from now on
 * carries `Connection: close`, so a keep-alive client finishes its next request and reconnects
 * (to another worker). Resolves when no connection is left or after `timeoutMs`, whichever comes
 * first; the caller then closes the app, which drops the connections still idle.
 *
 * `http.Server#close()` is not used to stop accepting: it also drops idle keep-alive connections
 * at once, and a client may be sending its next request on one at that moment (it would see a
 * reset, a failed request for a request the server never read).
 */
export async function drainConnections(
  server: http.Server,
  timeoutMs: number = DEFAULT_DRAIN_TIMEOUT_MS,
): Promise<void> {
  server.prependListener('request', closeAfterResponse)
  const closed = once(server, 'close').then(() => undefined)
  net.Server.prototype.close.call(server)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs)
  })
  await Promise.race([closed, timeout])
  clearTimeout(timer)
}
