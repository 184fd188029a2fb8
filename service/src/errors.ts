/**
 * Errors of the reference service. Each has a stable `code`; the ones a client can see carry the
 * HTTP `statusCode` the error handler answers with.
 */
import { HotpathError, describe } from '../../src/errors.js'

/** A configuration value (environment variable or CLI flag) is invalid. */
export class ConfigError extends HotpathError {
  readonly variable: string
  readonly value: unknown

  constructor(variable: string, value: unknown, expected: string) {
    super('E_CONFIG', `Invalid ${variable}: got ${describe(value)}, expected ${expected}.`)
    this.variable = variable
    this.value = value
  }
}

/** The requested entity does not exist. */
export class NotFoundError extends HotpathError {
  readonly entity: string
  readonly id: unknown

  constructor(entity: string, id: unknown) {
    super('E_NOT_FOUND', `${entity} ${describe(id)} does not exist.`, { statusCode: 404 })
    this.entity = entity
    this.id = id
  }
}

/** The request lacks valid credentials. */
export class UnauthorizedError extends HotpathError {
  constructor(message: string) {
    super('E_UNAUTHORIZED', message, { statusCode: 401 })
  }
}
