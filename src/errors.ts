/**
 * Every error Hotpath throws lives here, each with a stable `code`. Errors that can reach an HTTP
 * client carry `statusCode`.
 */

export interface HotpathErrorOptions {
  cause?: unknown
  statusCode?: number
}

/** Base class of all Hotpath errors. */
export class HotpathError extends Error {
  readonly code: string
  readonly statusCode: number | undefined

  constructor(code: string, message: string, options: HotpathErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.statusCode = options.statusCode
  }
}

/** An option passed to a Hotpath factory has a bad value. */
export class InvalidOptionError extends HotpathError {
  readonly option: string
  readonly value: unknown

  constructor(option: string, value: unknown, expected: string) {
    super('E_INVALID_OPTION', `Invalid option "${option}": got ${describe(value)}, expected ${expected}.`)
    this.option = option
    this.value = value
  }
}

/** Render a bad value for an error message without dumping huge strings. */
export function describe(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value
    return JSON.stringify(shown)
  }
  if (typeof value === 'bigint') return `${value}n`
  if (value === undefined) return 'undefined'
  try {
    const json = JSON.stringify(value)
    return json === undefined ? String(value) : json.length > 80 ? `${json.slice(0, 77)}...` : json
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** A benchmark scenario (flags or file) is invalid; `path` names the offending field. */
export class BenchScenarioError extends HotpathError {
  readonly path: string
  readonly value: unknown

  constructor(path: string, value: unknown, expected: string, options: HotpathErrorOptions = {}) {
    super(
      'E_BENCH_SCENARIO_INVALID',
      `Invalid scenario at "${path}": got ${describe(value)}, expected ${expected}.`,
      options,
    )
    this.path = path
    this.value = value
  }
}

/** A benchmark budget such as `"rps>=1000,p99<=500ms"` cannot be parsed. */
export class BenchBudgetError extends HotpathError {
  readonly value: string

  constructor(value: string, reason: string) {
    super(
      'E_BENCH_BUDGET_INVALID',
      `Invalid budget ${describe(value)}: ${reason}. Write comma-separated checks such as "rps>=1000,avg<100ms,p99<=500ms,errors<=0.1%".`,
    )
    this.value = value
  }
}

/** The load generator (autocannon or wrk) failed to start or run. */
export class BenchEngineError extends HotpathError {
  readonly engine: string

  constructor(engine: string, message: string, options: HotpathErrorOptions = {}) {
    super('E_BENCH_ENGINE', `${engine}: ${message}`, options)
    this.engine = engine
  }
}

/** An export request has a bad query parameter: unknown column, bad date, row count out of range. */
export class ExportParameterError extends HotpathError {
  readonly parameter: string
  readonly value: unknown

  constructor(code: string, parameter: string, value: unknown, expected: string) {
    super(code, `Invalid query parameter "${parameter}": got ${describe(value)}, expected ${expected}.`, {
      statusCode: 400,
    })
    this.parameter = parameter
    this.value = value
  }
}

/** As many exports as allowed are already streaming; each holds a database connection. */
export class ExportBusyError extends HotpathError {
  readonly limit: number

  constructor(limit: number) {
    super('E_EXPORT_BUSY', `${limit} exports are already running; retry in a few seconds.`, {
      statusCode: 503,
    })
    this.limit = limit
  }
}

/** A CPU profile was requested while another one is running (one profile per process at a time). */
export class ProfilerBusyError extends HotpathError {
  constructor() {
    super(
      'E_PROFILER_BUSY',
      'A CPU profile is already running in this process; retry when it has finished.',
      {
        statusCode: 409,
      },
    )
  }
}

/** A saved profile id is malformed or names no saved profile. */
export class ProfileNotFoundError extends HotpathError {
  readonly id: string

  constructor(id: string) {
    super(
      'E_PROFILE_NOT_FOUND',
      `No saved CPU profile with id ${describe(id)}; list them at GET /debug/profiles.`,
      { statusCode: 404 },
    )
    this.id = id
  }
}

/** A cache key is not a non-empty string of at most `maxKeyLength` characters without NUL. */
export class CacheKeyError extends HotpathError {
  readonly key: unknown

  constructor(key: unknown, reason: string) {
    super(
      'E_CACHE_INVALID_KEY',
      `Invalid cache key ${describe(key)}: ${reason}. Build keys from user input with keyTemplate('users:{id}'), which encodes every part.`,
    )
    this.key = key
  }
}

/** A loader ran past its hard timeout; the caller gets this error and nothing is cached. */
export class CacheLoaderTimeoutError extends HotpathError {
  readonly key: string
  readonly timeoutMs: number

  constructor(key: string, timeoutMs: number) {
    super(
      'E_CACHE_LOADER_TIMEOUT',
      `The loader for cache key ${describe(key)} did not finish within its hard timeout of ${timeoutMs} ms; raise "hardTimeout" or make the loader faster.`,
    )
    this.key = key
    this.timeoutMs = timeoutMs
  }
}

/** A shared-tier (Redis) call failed, timed out or was refused by the open circuit breaker. */
export class CacheStoreError extends HotpathError {
  readonly operation: string

  constructor(operation: string, message: string, cause?: unknown) {
    super('E_CACHE_STORE', `Cache store operation "${operation}" failed: ${message}`, { cause })
    this.operation = operation
  }
}

/** The cache was used after `close()`. */
export class CacheClosedError extends HotpathError {
  constructor() {
    super('E_CACHE_CLOSED', 'The cache is closed; create a new one with createCache().')
  }
}

/** A stored value could not be encoded or decoded by the cache codec. */
export class CacheCodecError extends HotpathError {
  readonly codec: string

  constructor(codec: string, message: string, cause?: unknown) {
    super('E_CACHE_CODEC', `Cache codec "${codec}": ${message}`, { cause })
    this.codec = codec
  }
}

/** A request precondition (`If-Match`, `If-None-Match` on an unsafe method, `If-Unmodified-Since`) is false. */
export class HttpPreconditionFailedError extends HotpathError {
  readonly header: string
  readonly value: unknown

  constructor(header: string, value: unknown) {
    super(
      'E_HTTP_PRECONDITION_FAILED',
      `Precondition ${header}: ${describe(value)} does not match the current representation; fetch it again and retry with its current ETag.`,
      { statusCode: 412 },
    )
    this.header = header
    this.value = value
  }
}

/** The route requires a conditional request (`If-Match`) and none was sent (RFC 6585 §3). */
export class HttpPreconditionRequiredError extends HotpathError {
  readonly method: string

  constructor(method: string) {
    super(
      'E_HTTP_PRECONDITION_REQUIRED',
      `${method} on this resource requires an If-Match header with the ETag you last read, to prevent lost updates.`,
      { statusCode: 428 },
    )
    this.method = method
  }
}

/** A cached route received a query parameter it does not declare. */
export class HttpUnknownQueryParamError extends HotpathError {
  readonly value: string
  readonly allowed: readonly string[]

  constructor(param: string, allowed: readonly string[]) {
    super(
      'E_HTTP_UNKNOWN_QUERY_PARAM',
      `Unknown query parameter ${describe(param)}; this route accepts ${allowed.length ? allowed.map((a) => `"${a}"`).join(', ') : 'no query parameters'}.`,
      { statusCode: 400 },
    )
    this.value = param
    this.allowed = allowed
  }
}

/** The request target could not be parsed (bad percent-encoding). */
export class HttpMalformedUrlError extends HotpathError {
  readonly value: string

  constructor(url: string, detail: string) {
    super('E_HTTP_MALFORMED_URL', `Malformed request URL ${describe(url)}: ${detail}.`, { statusCode: 400 })
    this.value = url
  }
}

/** Write-behind refused a write: the queue of writes not yet in the database is full. */
export class WriteBehindFullError extends HotpathError {
  readonly value: number
  readonly maxPending: number
  /** Seconds a client should wait before retrying (the service sends it as `Retry-After`). */
  readonly retryAfter: number

  constructor(pending: number, maxPending: number, retryAfter: number) {
    super(
      'E_WRITE_BEHIND_FULL',
      `${pending} writes are waiting to reach the database (option "maxPending" is ${maxPending}); retry in ${retryAfter} s.`,
      { statusCode: 503 },
    )
    this.value = pending
    this.maxPending = maxPending
    this.retryAfter = retryAfter
  }
}

/** Write-behind could not make a write durable in Redis (down, timed out, or too few replicas/AOF fsyncs). */
export class WriteBehindUnavailableError extends HotpathError {
  readonly operation: string
  readonly retryAfter: number

  constructor(operation: string, detail: string, options: { cause?: unknown; retryAfter?: number } = {}) {
    super('E_WRITE_BEHIND_UNAVAILABLE', `Write-behind ${operation} failed: ${detail}.`, {
      statusCode: 503,
      cause: options.cause,
    })
    this.operation = operation
    this.retryAfter = options.retryAfter ?? 1
  }
}

/** Write-behind is closed (shutting down) and accepts no more writes. */
export class WriteBehindClosedError extends HotpathError {
  readonly retryAfter = 1

  constructor() {
    super('E_WRITE_BEHIND_CLOSED', 'Write-behind is shutting down and accepts no more writes; retry.', {
      statusCode: 503,
    })
  }
}

/** `flush()` or a graceful close did not see the writes reach the database in time. */
export class WriteBehindDrainTimeoutError extends HotpathError {
  readonly value: number
  readonly pending: number

  constructor(timeoutMs: number, pending: number) {
    super(
      'E_WRITE_BEHIND_DRAIN_TIMEOUT',
      `Writes were still pending after ${timeoutMs} ms (${pending} in the stream); they stay durable in Redis and are flushed later. Raise "drainTimeout" to wait longer.`,
    )
    this.value = timeoutMs
    this.pending = pending
  }
}

// Upstream client (`src/upstream/`).
/** Which of the upstream client's timeouts fired. */
export type UpstreamTimeoutPhase = 'connect' | 'headers' | 'body'

const TIMEOUT_OPTION: Record<UpstreamTimeoutPhase, string> = {
  connect: 'connectTimeout',
  headers: 'headersTimeout',
  body: 'bodyTimeout',
}

/** The upstream did not connect, answer or send its body in time (HTTP 504 in a service). */
export class UpstreamTimeoutError extends HotpathError {
  readonly phase: UpstreamTimeoutPhase
  readonly value: number
  readonly url: string

  constructor(url: string, phase: UpstreamTimeoutPhase, timeoutMs: number, cause?: unknown) {
    super(
      'E_UPSTREAM_TIMEOUT',
      `Upstream ${describe(url)} timed out waiting for the ${phase === 'connect' ? 'connection' : phase} after ${timeoutMs} ms (option "${TIMEOUT_OPTION[phase]}").`,
      { statusCode: 504, cause },
    )
    this.phase = phase
    this.value = timeoutMs
    this.url = url
  }
}

/** The upstream could not be reached (connection refused or reset, DNS, TLS) (HTTP 502). */
export class UpstreamUnavailableError extends HotpathError {
  readonly url: string

  constructor(url: string, cause: unknown) {
    super(
      'E_UPSTREAM_UNAVAILABLE',
      `Upstream ${describe(url)} is unavailable: ${cause instanceof Error ? cause.message : String(cause)}.`,
      { statusCode: 502, cause },
    )
    this.url = url
  }
}

/** The upstream answered with a status other than 200 (or 304 to a revalidation) (HTTP 502). */
export class UpstreamStatusError extends HotpathError {
  readonly url: string
  /** The upstream's status code. */
  readonly value: number

  constructor(url: string, status: number) {
    super('E_UPSTREAM_STATUS', `Upstream ${describe(url)} answered ${status}.`, { statusCode: 502 })
    this.url = url
    this.value = status
  }
}

/** The upstream's body is larger than `maxResponseSize` (HTTP 502). */
export class UpstreamResponseTooLargeError extends HotpathError {
  readonly url: string
  readonly limit: number

  constructor(url: string, limit: number, cause?: unknown) {
    super(
      'E_UPSTREAM_TOO_LARGE',
      `Upstream ${describe(url)} sent a body larger than ${limit} bytes (option "maxResponseSize").`,
      { statusCode: 502, cause },
    )
    this.url = url
    this.limit = limit
  }
}
