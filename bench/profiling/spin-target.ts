/**
 * Bare Fastify + `Map` (bench/http/fastify-map.ts) with `BENCH_SPIN_US` microseconds of busy
 * JavaScript added to every request in an `onRequest` hook (none when 0). The `sensitivity` group
 * loads several spins side by side: how much requests/s a fixed amount of per-request JavaScript
 * costs on this machine, which is the scale every "<= 5 %" target is read against.
 */
import { start as startFastifyMap } from '../http/fastify-map.js'
import type { RunningTarget } from '../lib/target.js'

export function start(port: number): Promise<RunningTarget> {
  const spinUs = Number(process.env.BENCH_SPIN_US ?? 0)
  if (!Number.isFinite(spinUs) || spinUs < 0)
    throw new RangeError(`BENCH_SPIN_US: ${process.env.BENCH_SPIN_US}`)
  return startFastifyMap(port, { spinUs })
}
