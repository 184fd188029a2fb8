import { describe, expect, it } from 'vitest'
import { coalesce, streamIdTime, type StreamWrite } from '../../../src/cache/strategies/coalesce.js'

let seq = 0
const write = (key: string, version: number, op: StreamWrite['op'] = 'upsert'): StreamWrite => ({
  streamId: `1700000000000-${seq++}`,
  key,
  op,
  version,
  id: Number(key),
  body: op === 'delete' ? '' : `{"v":${version}}`,
})

describe('coalesce', () => {
  it('keeps the highest version per key, in first-seen key order', () => {
    const a1 = write('1', 1)
    const b1 = write('2', 1)
    const a3 = write('1', 3)
    const a2 = write('1', 2)
    expect(coalesce([a1, b1, a3, a2])).toEqual([a3, b1])
  })

  it('lets a later delete win over an earlier upsert, and a newer upsert over a delete', () => {
    const put = write('5', 1)
    const del = write('5', 2, 'delete')
    expect(coalesce([put, del])).toEqual([del])
    const revived = write('5', 3)
    expect(coalesce([put, del, revived])).toEqual([revived])
  })

  it('takes the later entry on a version tie (a replayed dead letter)', () => {
    const first = write('9', 4)
    const replay = write('9', 4)
    expect(coalesce([first, replay])[0]).toBe(replay)
  })

  it('reads the time of a stream id', () => {
    expect(streamIdTime('1700000000123-7')).toBe(1_700_000_000_123)
  })
})
