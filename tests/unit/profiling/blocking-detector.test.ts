import { afterEach, describe, expect, it } from 'vitest'

import { BlockingDetector, type EventLoopStall } from '../../../src/profiling/blocking-detector.js'
import {
  endRequestContext,
  RequestContext,
  runWithRequestContext,
} from '../../../src/profiling/request-context.js'

function hotpathBlockFor(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // spin: the point is to hold the event loop
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
let detector: BlockingDetector | undefined
afterEach(() => detector?.stop())

describe('BlockingDetector', () => {
  it('reports a stall with the route that caused it, even when that request already ended', async () => {
    const stalls: EventLoopStall[] = []
    detector = new BlockingDetector({
      threshold: '150ms',
      interval: 10,
      onStall: (stall) => stalls.push(stall),
    })
    detector.start()
    await sleep(30)
    const context = new RequestContext('GET', '/stats/prices')
    runWithRequestContext(context, () => hotpathBlockFor(400))
    endRequestContext(context)
    await sleep(50)
    // A busy machine may add stalls of its own; ours is the one naming the route.
    const ours = stalls.find((stall) => stall.routes.includes('GET /stats/prices'))
    expect(ours).toBeDefined()
    expect(ours!.delayMs).toBeGreaterThan(150)
    expect(ours!.routes).toEqual(['GET /stats/prices'])
  })

  it('stays quiet while nothing blocks longer than the threshold, and after stop', async () => {
    const stalls: EventLoopStall[] = []
    detector = new BlockingDetector({ threshold: '1s', interval: 10, onStall: (stall) => stalls.push(stall) })
    detector.start()
    hotpathBlockFor(50)
    await sleep(50)
    detector.stop()
    hotpathBlockFor(1_100)
    await sleep(30)
    expect(stalls).toEqual([])
  })

  it('rejects bad options', () => {
    expect(() => new BlockingDetector({ threshold: 'soon' as never, onStall: () => {} })).toThrow(
      /blocking\.threshold/u,
    )
  })
})
