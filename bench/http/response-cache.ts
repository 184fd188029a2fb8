/**
 * Hotpath response cache: Fastify + `httpCache` on the uncached SQLite route. A hit skips the
 * handler and serialization; with `If-None-Match` replayed it answers 304 from metadata alone.
 */
import type { RunningTarget } from '../lib/target.js'
import { startHotpathItemApp } from './hotpath-item-app.js'
import { runAlone } from './run-alone.js'

export function start(port: number): Promise<RunningTarget> {
  return startHotpathItemApp(port, { fastLane: false })
}

runAlone(import.meta.url, start)
