/**
 * HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, plus the two obsolete formats recipients must accept.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const IMF_FIXDATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/
const RFC850 =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/
const ASCTIME =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ( \d|\d{2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/

/**
 * Parse an HTTP-date into epoch milliseconds. Returns `undefined` when the value is not a valid
 * HTTP-date (such a header must then be ignored).
 *
 * @example
 * parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT') // 784111777000
 */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  let m = IMF_FIXDATE.exec(text)
  if (m) return build(m[3], m[2], m[1], m[4], m[5], m[6])
  m = RFC850.exec(text)
  if (m) {
    // RFC 9110: a two-digit year more than 50 years in the future means the past century.
    const yy = Number(m[3])
    const now = new Date().getUTCFullYear()
    let year = Math.floor(now / 100) * 100 + yy
    if (year > now + 50) year -= 100
    return build(String(year), m[2], m[1], m[4], m[5], m[6])
  }
  m = ASCTIME.exec(text)
  if (m) return build(m[6], m[1], m[2], m[3], m[4], m[5])
  return undefined
}

function build(
  year: string | undefined,
  month: string | undefined,
  day: string | undefined,
  hh: string | undefined,
  mm: string | undefined,
  ss: string | undefined,
): number | undefined {
  const monthIndex = MONTHS.indexOf(month ?? '')
  if (monthIndex === -1) return undefined
  const d = Number(day)
  const h = Number(hh)
  const mi = Number(mm)
  const s = Number(ss)
  if (d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined
  const ms = Date.UTC(Number(year), monthIndex, d, h, mi, Math.min(s, 59))
  // Reject dates such as 31 Feb that Date.UTC silently rolls over.
  if (new Date(ms).getUTCDate() !== d) return undefined
  return ms
}

/**
 * Format epoch milliseconds as an IMF-fixdate (whole seconds).
 *
 * @example
 * formatHttpDate(784111777000) // 'Sun, 06 Nov 1994 08:49:37 GMT'
 */
export function formatHttpDate(epochMs: number): string {
  return new Date(epochMs).toUTCString()
}
