import { InvalidOptionError } from '../errors.js'

/** A duration: milliseconds as a number, or a string such as `'250ms'`, `'30s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | `${number}${DurationUnit}` | `${number}`

type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd'

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/

/**
 * Parse a {@link Duration} into milliseconds.
 *
 * @example
 * parseDuration('1h') // 3_600_000
 * parseDuration(250) // 250
 *
 * @param value the duration to parse
 * @param option the option name, used in the error message
 * @throws InvalidOptionError when the value is negative, not finite or not a duration string
 */
export function parseDuration(value: Duration | string, option = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidOptionError(option, value, 'a non-negative number of milliseconds')
    }
    return value
  }
  const match = DURATION_PATTERN.exec(value)
  if (!match) {
    throw new InvalidOptionError(option, value, "a duration such as 250, '250ms', '30s', '5m', '1h' or '1d'")
  }
  const amount = Number(match[1])
  const unit = (match[2] ?? 'ms') as DurationUnit
  return amount * UNIT_MS[unit]
}
