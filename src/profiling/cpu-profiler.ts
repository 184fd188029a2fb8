import { Session } from 'node:inspector/promises'

import { DEFAULT_SAMPLING_INTERVAL_US } from './defaults.js'
import type { CpuProfile } from './cpu-profile.js'
import { remapSourcePositions } from './source-positions.js'
import { ProfilerBusyError } from '../errors.js'

/** A running CPU profile; {@link stop} ends it and returns the profile. */
export interface RunningProfile {
  readonly startedAt: number
  stop(): Promise<CpuProfile>
}

// V8 profiles the whole isolate: two overlapping profiles would each contain the other's work, so
// one profile at a time per process, whichever part of Hotpath started it.
let running: RunningProfile | null = null

/** True while a CPU profile is being recorded in this process. */
export function isProfiling(): boolean {
  return running !== null
}

/**
 * Start a V8 CPU profile of this process through `node:inspector`.
 *
 * @example
 * const profile = await startCpuProfile()
 * await work()
 * const cpuprofile = await profile.stop()
 *
 * @throws ProfilerBusyError when a profile is already running
 */
export async function startCpuProfile(
  samplingIntervalUs = DEFAULT_SAMPLING_INTERVAL_US,
): Promise<RunningProfile> {
  if (running !== null) throw new ProfilerBusyError()
  let stopped: Promise<CpuProfile> | null = null
  const session = new Session()
  const handle: RunningProfile = {
    startedAt: Date.now(),
    stop() {
      stopped ??= (async () => {
        try {
          const { profile } = await session.post('Profiler.stop')
          return remapSourcePositions(profile as unknown as CpuProfile)
        } finally {
          session.disconnect()
          if (running === handle) running = null
        }
      })()
      return stopped
    },
  }
  // Claimed before the first await so that a concurrent caller sees it.
  running = handle
  try {
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs })
    await session.post('Profiler.start')
  } catch (error) {
    session.disconnect()
    running = null
    throw error
  }
  return handle
}
