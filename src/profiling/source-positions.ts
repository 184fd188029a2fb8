import { findSourceMap, type SourceMap } from 'node:module'

import type { CpuProfile } from './cpu-profile.js'

/**
 * Rewrite the positions of a CPU profile's frames to the original sources, using the source maps
 * this process knows (tsx, or `node --enable-source-maps` with compiled code that ships maps).
 * Without it, code run through tsx is reported at line 1 of its transformed output. Frames without
 * a map are left alone. Must run in the process that recorded the profile. Mutates and returns it.
 *
 * @example
 * const profile = remapSourcePositions(await running.stop())
 */
export function remapSourcePositions(profile: CpuProfile): CpuProfile {
  const maps = new Map<string, SourceMap | undefined>()
  for (const node of profile.nodes) {
    const frame = node.callFrame
    if (frame.url === '' || frame.url.startsWith('node:') || frame.lineNumber < 0) continue
    let map = maps.get(frame.url)
    if (!maps.has(frame.url)) {
      try {
        map = findSourceMap(frame.url)
      } catch {
        map = undefined
      }
      maps.set(frame.url, map)
    }
    if (map === undefined) continue
    const entry = map.findEntry(frame.lineNumber, Math.max(0, frame.columnNumber)) as Partial<{
      originalSource: string
      originalLine: number
      originalColumn: number
    }>
    if (typeof entry.originalLine !== 'number' || typeof entry.originalColumn !== 'number') continue
    frame.lineNumber = entry.originalLine
    frame.columnNumber = entry.originalColumn
    if (typeof entry.originalSource === 'string' && entry.originalSource !== '')
      frame.url = entry.originalSource
  }
  return profile
}
