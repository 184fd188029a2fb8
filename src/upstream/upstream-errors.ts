import { HotpathError, describe } from '../errors.js'

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
