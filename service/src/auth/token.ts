import { createHash, createHmac } from 'node:crypto'

/**
 * The bearer token of a seeded user: HMAC-SHA256 keyed by the seed over the user id, in hex. Tests
 * and benchmarks compute it instead of reading it from the database, which stores only a hash.
 *
 * @example
 * const token = tokenForUser(42, 1)
 * await fetch('http://127.0.0.1:3000/me/balance', { headers: { authorization: `Bearer ${token}` } })
 */
export function tokenForUser(seed: number, userId: number): string {
  return createHmac('sha256', String(seed)).update(String(userId)).digest('hex')
}

/** The SHA-256 hex digest stored in `users.api_token_hash`. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Tokens are 64 lowercase hex characters; anything else is rejected before touching the database. */
export const TOKEN_PATTERN = /^[0-9a-f]{64}$/
