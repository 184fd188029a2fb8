import { Type } from '@sinclair/typebox'
import { TOKEN_PATTERN, hashToken } from '../auth/token.js'
import type { Repositories, ServiceApp } from '../context.js'
import { UnauthorizedError } from '../errors.js'
import { NoQuery } from '../http/common-schemas.js'
import { errorResponses } from '../http/error-schema.js'

export const Balance = Type.Object(
  { userId: Type.Integer(), balanceCents: Type.Integer() },
  { additionalProperties: false },
)

const BEARER = /^Bearer +(\S+) *$/i

/** `GET /me/balance`: the balance of the user whose bearer token is sent; 401 otherwise. */
export function registerMeRoutes(app: ServiceApp, users: Repositories['users']): void {
  app.get(
    '/me/balance',
    {
      schema: { querystring: NoQuery, response: { 200: Balance, ...errorResponses(400, 401) } },
      // Per-user and never stored server-side (no lifetime): the browser may keep it, and must
      // revalidate it (ETag → 304 for the same user only).
      config: { httpCache: { policy: { scope: 'private', noCache: true }, private: true } },
    },
    async (request, reply) => {
      const header = request.headers.authorization
      if (header === undefined) {
        throw new UnauthorizedError('Missing bearer token: send "Authorization: Bearer <token>".')
      }
      const token = BEARER.exec(header)?.[1]
      // A malformed token is rejected without a database round trip.
      if (token === undefined || !TOKEN_PATTERN.test(token)) {
        throw new UnauthorizedError(
          'Invalid bearer token: expected "Authorization: Bearer <64 hex characters>".',
        )
      }
      const user = await users.findBalanceByTokenHash(hashToken(token))
      if (user === undefined) throw new UnauthorizedError('Invalid bearer token: no user has this token.')
      // Per-user data: shared caches must not store it (also without the HTTP cache plugin).
      reply.header('cache-control', 'private, no-cache')
      return { userId: user.id, balanceCents: user.balanceCents }
    },
  )
}
