import { describe, expect, it } from 'vitest'
import { isTransientError } from '../../../src/cache/strategies/transient-error.js'

const coded = (code: string, message = code) => Object.assign(new Error(message), { code })

describe('isTransientError', () => {
  it('treats an unreachable or busy database as transient', () => {
    expect(isTransientError(coded('ECONNREFUSED'))).toBe(true)
    expect(isTransientError(coded('SQLITE_BUSY', 'database is locked'))).toBe(true)
    expect(isTransientError(coded('57P01', 'terminating connection due to administrator command'))).toBe(true)
    expect(isTransientError(coded('08006'))).toBe(true)
    expect(isTransientError(new Error('Connection terminated unexpectedly'))).toBe(true)
    expect(isTransientError(new AggregateError([coded('ECONNREFUSED')], 'connect failed'))).toBe(true)
    expect(isTransientError(new Error('wrapped', { cause: coded('ETIMEDOUT') }))).toBe(true)
  })

  it('treats a bad write as permanent', () => {
    expect(isTransientError(coded('23505', 'duplicate key value violates unique constraint'))).toBe(false)
    expect(isTransientError(coded('SQLITE_CONSTRAINT_NOTNULL'))).toBe(false)
    expect(isTransientError(new TypeError('cannot read properties of undefined'))).toBe(false)
    expect(isTransientError('a string')).toBe(false)
    expect(isTransientError(undefined)).toBe(false)
  })
})
