import { createHash, timingSafeEqual } from 'node:crypto'

import type { FastifyRequest } from 'fastify'

/** Header that carries the admin token when `Authorization` is used for something else. */
export const ADMIN_TOKEN_HEADER = 'x-hotpath-admin-token'

/** A token checker that compares in constant time (digests, so lengths leak nothing either). */
export function tokenChecker(expected: string): (candidate: string | undefined) => boolean {
  const digest = createHash('sha256').update(expected).digest()
  return (candidate) =>
    candidate !== undefined && timingSafeEqual(createHash('sha256').update(candidate).digest(), digest)
}

/** The token a request presents: `Authorization: Bearer <token>`, else the `extraHeader` header. */
export function presentedToken(request: FastifyRequest, extraHeader?: string): string | undefined {
  const authorization = request.headers.authorization
  if (typeof authorization === 'string' && authorization.startsWith('Bearer ')) {
    return authorization.slice('Bearer '.length).trim()
  }
  if (extraHeader === undefined) return undefined
  const value = request.headers[extraHeader]
  return typeof value === 'string' ? value : undefined
}
