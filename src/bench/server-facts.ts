import type { ServerFacts } from './result.js'

/** Accumulates `X-Cache` and `Server-Timing` header values into {@link ServerFacts}. */
export interface ServerFactsCollector {
  /** Record one response's header values (undefined when absent). */
  record(xCache: string | undefined, serverTiming: string | undefined): void
  /** Merge raw counts gathered elsewhere (e.g. by wrk's Lua script). */
  merge(cacheValues: Record<string, number>, timing: Record<string, { sum: number; count: number }>): void
  summary(): ServerFacts
}

const TIER_PATTERN = /\b(l[0-9]|memory|redis|response|edge|stale)\b/i
const TIMING_ENTRY = /^\s*([^;,\s]+)((?:\s*;\s*[^;,]+)*)$/

/**
 * True when an `X-Cache` value says the response came from a cache: "HIT", "hit-l1", "HIT l2", or
 * "stale" (a stale entry served while it revalidates is still answered by the cache).
 */
export function isCacheHit(value: string): boolean {
  const lower = value.toLowerCase()
  return (lower.includes('hit') || lower.includes('stale')) && !lower.includes('miss')
}

/** Tier named by an `X-Cache` value, such as `l1` in `HIT l1` or `HIT-L2`; null when none. */
export function cacheTier(value: string): string | null {
  const match = TIER_PATTERN.exec(value.replace(/[-_]/g, ' '))
  return match ? (match[1] as string).toLowerCase() : null
}

/**
 * Parse a `Server-Timing` header into `[name, durMs]` pairs (entries without `dur` are skipped).
 *
 * @example
 * parseServerTiming('db;dur=2.5, cache;desc="hit";dur=0.1') // [['db', 2.5], ['cache', 0.1]]
 */
export function parseServerTiming(header: string): [string, number][] {
  const out: [string, number][] = []
  for (const entry of header.split(',')) {
    const match = TIMING_ENTRY.exec(entry)
    if (!match) continue
    const dur = /;\s*dur\s*=\s*"?(-?\d+(?:\.\d+)?)/i.exec(match[2] ?? '')
    if (dur) out.push([match[1] as string, Number(dur[1])])
  }
  return out
}

/** Create an empty collector. */
export function createServerFactsCollector(): ServerFactsCollector {
  const cacheValues: Record<string, number> = {}
  const timing: Record<string, { sum: number; count: number }> = {}
  return {
    record(xCache, serverTiming) {
      if (xCache !== undefined) cacheValues[xCache] = (cacheValues[xCache] ?? 0) + 1
      if (serverTiming !== undefined) {
        for (const [name, dur] of parseServerTiming(serverTiming)) {
          const slot = (timing[name] ??= { sum: 0, count: 0 })
          slot.sum += dur
          slot.count += 1
        }
      }
    },
    merge(values, timings) {
      for (const [value, count] of Object.entries(values))
        cacheValues[value] = (cacheValues[value] ?? 0) + count
      for (const [name, { sum, count }] of Object.entries(timings)) {
        const slot = (timing[name] ??= { sum: 0, count: 0 })
        slot.sum += sum
        slot.count += count
      }
    },
    summary() {
      return summarizeServerFacts(cacheValues, timing)
    },
  }
}

/** Turn raw counts into ratios. */
export function summarizeServerFacts(
  cacheValues: Record<string, number>,
  timing: Record<string, { sum: number; count: number }>,
): ServerFacts {
  let cacheResponses = 0
  let hits = 0
  const hitsByTier: Record<string, number> = {}
  for (const [value, count] of Object.entries(cacheValues)) {
    cacheResponses += count
    if (!isCacheHit(value)) continue
    hits += count
    const tier = cacheTier(value) ?? 'any'
    hitsByTier[tier] = (hitsByTier[tier] ?? 0) + count
  }
  const hitRatioByTier: Record<string, number> = {}
  for (const [tier, count] of Object.entries(hitsByTier)) hitRatioByTier[tier] = count / cacheResponses
  const timingSummary: ServerFacts['timing'] = {}
  for (const [name, { sum, count }] of Object.entries(timing)) {
    timingSummary[name] = { avgMs: count === 0 ? 0 : sum / count, count }
  }
  return {
    cacheResponses,
    cacheValues: { ...cacheValues },
    hitRatio: cacheResponses === 0 ? null : hits / cacheResponses,
    hitRatioByTier,
    timing: timingSummary,
  }
}
