const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'SQLITE_BUSY',
  'SQLITE_BUSY_SNAPSHOT',
  'SQLITE_BUSY_RECOVERY',
  'SQLITE_BUSY_TIMEOUT',
  'SQLITE_LOCKED',
  'SQLITE_LOCKED_SHAREDCACHE',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  // PostgreSQL: serialization failure, deadlock, too many connections, read-only standby.
  '40001',
  '40P01',
  '53300',
  '25006',
])

const TRANSIENT_MESSAGES = [
  /connection terminated/i,
  /connection (?:timeout|refused|reset|ended)/i,
  /timeout exceeded when trying to connect/i,
  /client has encountered a connection error/i,
  /database is locked/i,
  /driver has already been destroyed/i,
]

/**
 * Whether an error means "the database is unavailable right now" rather than "this write is bad".
 * Write-behind retries the former forever (with capped backoff) and dead-letters only the latter.
 * Looks at `code` (Node socket errors, SQLite codes, PostgreSQL classes 08, 53, 57P), the message,
 * `cause` and the errors of an `AggregateError`.
 *
 * @example
 * isTransientError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) // true
 */
export function isTransientError(error: unknown, depth = 0): boolean {
  if (depth > 5 || error === null || typeof error !== 'object') return false
  const { code, message, cause, errors } = error as {
    code?: unknown
    message?: unknown
    cause?: unknown
    errors?: unknown
  }
  if (typeof code === 'string') {
    if (TRANSIENT_CODES.has(code)) return true
    if (code.startsWith('08') || code.startsWith('57P') || code.startsWith('53')) return true
  }
  if (typeof message === 'string' && TRANSIENT_MESSAGES.some((pattern) => pattern.test(message))) return true
  if (Array.isArray(errors) && errors.some((inner) => isTransientError(inner, depth + 1))) return true
  return cause !== undefined && isTransientError(cause, depth + 1)
}
