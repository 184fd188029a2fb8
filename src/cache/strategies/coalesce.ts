import type { WriteId } from './repository.js'

/** One write as it sits in the write-behind stream. */
export interface StreamWrite {
  /** The Redis stream entry id (`<ms>-<seq>`). */
  readonly streamId: string
  /** The id as a string: the field of the pending-value hash. */
  readonly key: string
  readonly op: 'upsert' | 'delete'
  readonly version: number
  readonly id: WriteId
  /** The encoded entity (`''` for a delete). */
  readonly body: string
}

/**
 * Keep one write per key: the one with the highest version (the latest in the stream on a tie).
 * Every superseded write is still acknowledged with the batch; it is obsolete, not lost.
 *
 * @example
 * coalesce([put(1, 'v1'), put(1, 'v2'), del(2)]) // [put(1, 'v2'), del(2)], in first-seen key order
 */
export function coalesce(writes: readonly StreamWrite[]): StreamWrite[] {
  const latest = new Map<string, StreamWrite>()
  for (const write of writes) {
    const previous = latest.get(write.key)
    if (previous === undefined || write.version >= previous.version) latest.set(write.key, write)
  }
  return [...latest.values()]
}

/** Milliseconds part of a stream entry id. */
export function streamIdTime(streamId: string): number {
  const dash = streamId.indexOf('-')
  return Number(dash === -1 ? streamId : streamId.slice(0, dash))
}
