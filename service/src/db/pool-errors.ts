/**
 * Errors of the PostgreSQL pool and statement limits, answered as 503/504 with their own codes
 * instead of a hang or a generic 500.
 */
import { HotpathError } from '../../../src/errors.js'

/** Every pooled connection stayed busy for `DB_POOL_ACQUIRE_TIMEOUT`. */
export class DbPoolExhaustedError extends HotpathError {
  readonly poolSize: number
  readonly acquireTimeoutMs: number
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  readonly retryAfter: number

  constructor(
    poolSize: number,
    acquireTimeoutMs: number,
    options: { cause?: unknown; retryAfter?: number } = {},
  ) {
    super(
      'E_DB_POOL_EXHAUSTED',
      `All ${poolSize} database connections stayed busy for ${acquireTimeoutMs} ms (DB_POOL_SIZE, DB_POOL_ACQUIRE_TIMEOUT); retry shortly.`,
      { statusCode: 503, cause: options.cause },
    )
    this.poolSize = poolSize
    this.acquireTimeoutMs = acquireTimeoutMs
    this.retryAfter = options.retryAfter ?? 1
  }
}

/** A new database connection could not be opened within `DB_POOL_ACQUIRE_TIMEOUT`. */
export class DbConnectTimeoutError extends HotpathError {
  readonly acquireTimeoutMs: number
  readonly retryAfter: number

  constructor(acquireTimeoutMs: number, options: { cause?: unknown; retryAfter?: number } = {}) {
    super(
      'E_DB_CONNECT_TIMEOUT',
      `Could not connect to the database within ${acquireTimeoutMs} ms (DB_POOL_ACQUIRE_TIMEOUT); retry shortly.`,
      { statusCode: 503, cause: options.cause },
    )
    this.acquireTimeoutMs = acquireTimeoutMs
    this.retryAfter = options.retryAfter ?? 1
  }
}

/** PostgreSQL cancelled a statement that ran longer than `DB_STATEMENT_TIMEOUT`. */
export class DbStatementTimeoutError extends HotpathError {
  readonly statementTimeoutMs: number | undefined

  constructor(statementTimeoutMs: number | undefined, options: { cause?: unknown } = {}) {
    const limit = statementTimeoutMs === undefined ? 'the statement timeout' : `${statementTimeoutMs} ms`
    super(
      'E_DB_STATEMENT_TIMEOUT',
      `A database query ran longer than ${limit} (DB_STATEMENT_TIMEOUT) and was cancelled.`,
      { statusCode: 504, cause: options.cause },
    )
    this.statementTimeoutMs = statementTimeoutMs
  }
}

/** pg-pool's message when `connectionTimeoutMillis` passes before a client is free or connected. */
const POOL_TIMEOUT_MESSAGE = 'timeout exceeded when trying to connect'
/** SQLSTATE `query_canceled`, with the server's reason in the message. */
const QUERY_CANCELED = '57014'

/** The pool facts an error translation needs (a `pg.Pool` has them). */
export interface PoolFacts {
  readonly totalCount: number
  readonly options: { readonly max?: number | undefined }
}

/** Turn pg-pool's acquire timeout into {@link DbPoolExhaustedError} / {@link DbConnectTimeoutError}. */
export function translateAcquireError(error: unknown, pool: PoolFacts, acquireTimeoutMs: number): unknown {
  if (!(error instanceof Error) || error.message !== POOL_TIMEOUT_MESSAGE) return error
  const max = pool.options.max ?? 10
  return pool.totalCount >= max
    ? new DbPoolExhaustedError(max, acquireTimeoutMs, { cause: error })
    : new DbConnectTimeoutError(acquireTimeoutMs, { cause: error })
}

/** Turn a `statement_timeout` cancellation into {@link DbStatementTimeoutError}. */
export function translateQueryError(error: unknown, statementTimeoutMs: number | undefined): unknown {
  if (
    error instanceof Error &&
    (error as { code?: unknown }).code === QUERY_CANCELED &&
    /statement timeout/i.test(error.message)
  ) {
    return new DbStatementTimeoutError(statementTimeoutMs, { cause: error })
  }
  return error
}

/** The database cannot be reached or is shutting down: a retryable 503, not a 500. */
export class DbUnavailableError extends HotpathError {
  readonly retryAfter: number

  constructor(options: { cause?: unknown; retryAfter?: number } = {}) {
    super('E_DB_UNAVAILABLE', 'The database is unavailable (restarting or unreachable); retry shortly.', {
      statusCode: 503,
      cause: options.cause,
    })
    this.retryAfter = options.retryAfter ?? 1
  }
}

/** SQLSTATEs of a database that went away or is not accepting connections. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300'])
/** Socket errors on the way to the database. */
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
])
/** SQLite: another connection holds the lock past `busy_timeout`. */
const SQLITE_UNAVAILABLE = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED'])

/**
 * Whether an unhandled error means "the database is not there right now" (PostgreSQL restarting,
 * a connection cut, a class 08 connection exception, a locked SQLite file) rather than a bug.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) return true
    if (UNAVAILABLE_ERRNOS.has(code) || SQLITE_UNAVAILABLE.has(code)) return true
  }
  // pg's own messages when the socket closes under a query or a pooled client.
  return (
    /^Connection terminated/.test(error.message) ||
    error.message === 'Client has encountered a connection error and is not queryable'
  )
}
