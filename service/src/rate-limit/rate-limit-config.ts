/**
 * `RATE_LIMIT=off|<n>/<window>`: how many requests one client may send per window.
 */
import { parseDuration } from '../../../src/util/duration.js'

/** A request budget: at most `max` requests per `window` milliseconds, per client. */
export interface RateLimitBudget {
  readonly max: number
  readonly window: number
}

/**
 * Off by default: the service's own benchmarks drive tens of thousands of requests per second
 * from one address (127.0.0.1), which any limit that protects a public deployment would throttle.
 * Operators turn it on with a budget that fits their traffic (see docs/security.md).
 */
export const DEFAULT_RATE_LIMIT: RateLimitBudget | false = false
/** Largest accepted budget and window, so a typo cannot overflow Redis' PEXPIRE. */
export const MAX_RATE_LIMIT_MAX = 1_000_000_000
export const MAX_RATE_LIMIT_WINDOW_MS = 24 * 3_600_000

const BUDGET = /^\s*(\d+)\s*\/\s*(\S+)\s*$/

/**
 * Parse a `RATE_LIMIT` value: `off` (or `false`, `0`, `no`) or `<n>/<window>` with a duration
 * window (`100/1s`, `6000/1m`, `100000/1h`). Returns `undefined` when the text is not valid, so
 * the caller can name the variable in its error.
 *
 * @example
 * parseRateLimit('600/1m') // { max: 600, window: 60000 }
 * parseRateLimit('off') // false
 */
export function parseRateLimit(text: string): RateLimitBudget | false | undefined {
  const value = text.trim().toLowerCase()
  if (value === 'off' || value === 'false' || value === '0' || value === 'no') return false
  const match = BUDGET.exec(value)
  if (!match) return undefined
  const max = Number(match[1])
  let window: number
  try {
    window = parseDuration(match[2] as string, 'RATE_LIMIT')
  } catch {
    return undefined
  }
  if (!Number.isSafeInteger(max) || max < 1 || max > MAX_RATE_LIMIT_MAX) return undefined
  if (!Number.isInteger(window) || window < 1 || window > MAX_RATE_LIMIT_WINDOW_MS) return undefined
  return Object.freeze({ max, window })
}
