import { readFileSync } from 'node:fs'
import { CLIENT_SATURATION_THRESHOLD } from './defaults.js'
import type { ClientCpu } from './result.js'

/** Linux reports /proc times in clock ticks; USER_HZ is 100 on every mainstream architecture. */
const TICK_MS = 10

/** CPU times of a process from `/proc/<pid>/stat`, in milliseconds; null off Linux or when gone. */
export interface ProcCpu {
  /** user + system of the process itself. */
  selfMs: number
  /** user + system of its children that have exited and been waited for. */
  childrenMs: number
}

/**
 * Read CPU times of `pid` (default: this process) from `/proc`.
 *
 * @example
 * const before = readProcCpu()
 * // ... spawn a child, wait for it to exit ...
 * const childCpuMs = readProcCpu()!.childrenMs - before!.childrenMs
 */
export function readProcCpu(pid: number | 'self' = 'self'): ProcCpu | null {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // The command name (field 2) may contain spaces; fields are counted after its closing paren.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  const cutime = Number(fields[13])
  const cstime = Number(fields[14])
  if (![utime, stime, cutime, cstime].every(Number.isFinite)) return null
  return { selfMs: (utime + stime) * TICK_MS, childrenMs: (cutime + cstime) * TICK_MS }
}

/**
 * Summarise the load generator's CPU use and say when it, not the server, limited the run.
 * `cores` is how many cores the client could use (autocannon: 1; wrk: its thread count).
 */
export function summarizeClientCpu(
  cpuMs: number,
  wallMs: number,
  requests: number,
  method: ClientCpu['method'],
  cores = 1,
): ClientCpu {
  const utilization = wallMs > 0 ? cpuMs / wallMs : 0
  const saturated = utilization >= CLIENT_SATURATION_THRESHOLD * cores
  const usPerRequest = requests > 0 ? (cpuMs * 1_000) / requests : 0
  const warning = saturated
    ? `the load generator used ${(utilization * 100).toFixed(0)}% of ${cores === 1 ? 'a core' : `${cores} cores`} ` +
      `(${usPerRequest.toFixed(1)} µs CPU per request): the client, not the server, may be the limit. ` +
      'Use --engine wrk, fewer connections, or run the client on another machine.'
    : null
  return { cpuMs, utilization, usPerRequest, saturated, warning, method }
}
