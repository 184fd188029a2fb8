import { describe, expect, it } from 'vitest'

import { publishDbQuery } from '../../../src/profiling/db-query-event.js'
import { findNPlusOne } from '../../../src/profiling/n-plus-one.js'
import {
  activeRequestContexts,
  currentRequestContext,
  endRequestContext,
  recordTiming,
  RequestContext,
  runWithRequestContext,
  watchEndedRequests,
} from '../../../src/profiling/request-context.js'

describe('RequestContext', () => {
  it('is current across awaits and collects timings and queries of its own request only', async () => {
    // In-flight tracking is on while a blocking detector watches.
    watchEndedRequests(true)
    const a = new RequestContext('GET', '/a')
    const b = new RequestContext('GET', '/b')
    a.trackQueryShapes()
    const run = (context: RequestContext, ids: number[]) =>
      runWithRequestContext(context, async () => {
        for (const id of ids) {
          await new Promise((resolve) => setImmediate(resolve))
          expect(currentRequestContext()).toBe(context)
          publishDbQuery({
            sql: `select * from posts where user_id = ${id}`,
            durationMs: 2,
            dialect: 'sqlite',
          })
        }
        recordTiming('cache', 0.5, `hit-${context.route}`)
      })
    await Promise.all([run(a, [1, 2, 3]), run(b, [9])])
    expect(a.queryCount).toBe(3)
    expect(a.queryMs).toBe(6)
    expect(b.queryCount).toBe(1)
    expect(b.queryShapes).toBeNull()
    expect(a.queryShapes).toEqual(new Map([['select * from posts where user_id = ?', 3]]))
    expect(a.timings).toEqual([{ name: 'cache', durationMs: 0.5, description: 'hit-/a' }])
    expect(activeRequestContexts().has(a)).toBe(true)
    endRequestContext(a)
    endRequestContext(b)
    expect(activeRequestContexts().has(a)).toBe(false)
    watchEndedRequests(false)
  })

  it('counts one repeated cache outcome without a map, and every outcome once a second one is seen', () => {
    const context = new RequestContext('GET', '/items/:id')
    context.recordCacheOutcome('hit-l1')
    context.recordCacheOutcome('hit-l1')
    expect([context.cacheOutcome, context.cacheOutcomeCount, context.cacheOutcomes]).toEqual([
      'hit-l1',
      2,
      null,
    ])
    context.recordCacheOutcome('miss-l2')
    context.recordCacheOutcome('hit-l1')
    expect(context.cacheOutcome).toBe('hit-l1')
    expect(Object.fromEntries(context.cacheOutcomes ?? [])).toEqual({ 'hit-l1': 3, 'miss-l2': 1 })
  })

  it('ignores queries and timings outside any request', () => {
    expect(currentRequestContext()).toBeUndefined()
    expect(() => recordTiming('cache', 1)).not.toThrow()
    expect(() => publishDbQuery({ sql: 'select 1', durationMs: 1, dialect: 'sqlite' })).not.toThrow()
  })
})

describe('findNPlusOne', () => {
  it('reports shapes strictly above the threshold, most frequent first', () => {
    const shapes = new Map([
      ['select a', 10],
      ['select b', 11],
      ['select c', 30],
    ])
    expect(findNPlusOne(shapes, 10)).toEqual([
      { shape: 'select c', count: 30 },
      { shape: 'select b', count: 11 },
    ])
    expect(findNPlusOne(shapes, 30)).toEqual([])
  })
})
