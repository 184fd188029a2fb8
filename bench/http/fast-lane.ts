/**
 * Hotpath fast lane: the response cache with `fastLane: true`, answering public stored responses
 * at the server's request handler, before Fastify routing and hooks.
 */
import type { RunningTarget } from '../lib/target.js'
import { startHotpathItemApp } from './hotpath-item-app.js'
import { runAlone } from './run-alone.js'

export function start(port: number): Promise<RunningTarget> {
  return startHotpathItemApp(port, { fastLane: true })
}

runAlone(import.meta.url, start)
