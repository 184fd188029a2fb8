import { HotpathError } from '../../../src/errors.js'

/** A client sent more requests than its budget allows (`RATE_LIMIT`); answered with 429. */
export class RateLimitedError extends HotpathError {
  /** Seconds until the budget refills (also sent as `Retry-After`). */
  readonly retryAfter: number

  constructor(retryAfter: number, max: number, window: number) {
    super(
      'E_RATE_LIMITED',
      `Too many requests: the limit is ${max} per ${window} ms; retry in ${retryAfter} s (Retry-After).`,
      { statusCode: 429 },
    )
    this.retryAfter = retryAfter
  }
}
