import { describe, expect, it } from 'vitest'
import {
  cacheTier,
  createServerFactsCollector,
  isCacheHit,
  parseServerTiming,
} from '../../../src/bench/server-facts.js'

describe('server facts', () => {
  it('parses Server-Timing entries with dur, skipping those without', () => {
    expect(parseServerTiming('db;dur=2.5, cache;desc="hit";dur=0.1, miss, total;dur="7"')).toEqual([
      ['db', 2.5],
      ['cache', 0.1],
      ['total', 7],
    ])
  })

  it('reads hits and tiers from common X-Cache spellings', () => {
    expect(['HIT', 'hit-l1', 'HIT-L2', 'Hit from redis', 'stale'].every(isCacheHit)).toBe(true)
    expect(['MISS', 'miss l1', 'BYPASS'].some(isCacheHit)).toBe(false)
    expect(cacheTier('HIT-L2')).toBe('l2')
    expect(cacheTier('hit-l1')).toBe('l1')
    expect(cacheTier('stale')).toBe('stale')
    expect(cacheTier('HIT')).toBeNull()
  })

  it('summarises hit ratio overall and by tier, and averages Server-Timing', () => {
    const facts = createServerFactsCollector()
    for (let i = 0; i < 6; i++) facts.record('HIT l1', 'cache;dur=0.2')
    for (let i = 0; i < 2; i++) facts.record('HIT l2', 'cache;dur=1, redis;dur=0.8')
    for (let i = 0; i < 2; i++) facts.record('MISS', 'db;dur=5')
    facts.record(undefined, undefined)
    facts.merge({ MISS: 10 }, { db: { sum: 50, count: 10 } })
    const summary = facts.summary()
    expect(summary.cacheResponses).toBe(20)
    expect(summary.hitRatio).toBeCloseTo(8 / 20)
    expect(summary.hitRatioByTier).toEqual({ l1: 6 / 20, l2: 2 / 20 })
    expect(summary.timing.cache).toEqual({ avgMs: (6 * 0.2 + 2) / 8, count: 8 })
    expect(summary.timing.db).toEqual({ avgMs: 5, count: 12 })
  })

  it('says "unknown" rather than 0% when no response carried X-Cache', () => {
    expect(createServerFactsCollector().summary().hitRatio).toBeNull()
  })
})
