import { Type } from '@sinclair/typebox'
import type { Cache } from '../../../src/cache/types.js'
import { UpstreamStatusError } from '../../../src/upstream/upstream-errors.js'
import { createUpstreamClient, type UpstreamClient } from '../../../src/upstream/upstream-client.js'
import type { UpstreamConfig } from '../config.js'
import type { ServiceApp } from '../context.js'
import { NotFoundError } from '../errors.js'
import { NoQuery } from '../http/common-schemas.js'
import { errorResponses } from '../http/error-schema.js'

/** An ISO 4217 currency code. */
const CurrencyParams = Type.Object(
  { currency: Type.String({ pattern: '^[A-Z]{3}$' }) },
  { additionalProperties: false },
)

/**
 * `GET /rates/:currency`: the upstream's `GET /rates/:currency` (at `UPSTREAM_URL`) through the
 * Hotpath upstream client. Answers are cached in the service cache's `upstream` namespace (shared
 * across instances when Redis is configured), revalidated with the upstream's ETag, and served
 * stale within grace while the upstream fails. `X-Cache` says how an answer was served (`hit`,
 * `fetched`, `revalidated`, `stale`); the body and its Content-Type are the upstream's.
 *
 * Errors: 404 when the upstream has no such currency, 502 (`E_UPSTREAM_UNAVAILABLE`,
 * `E_UPSTREAM_STATUS`, `E_UPSTREAM_TOO_LARGE`) or 504 (`E_UPSTREAM_TIMEOUT`) when it fails and
 * nothing stored may be served.
 *
 * @returns the client, closed when the app closes
 */
export function registerRatesRoutes(
  app: ServiceApp,
  config: UpstreamConfig & { url: string },
  cache: Cache | undefined,
): UpstreamClient {
  const client = createUpstreamClient({
    origin: config.url,
    ...(cache === undefined ? {} : { cache }),
    ttl: config.ttl,
    headers: { accept: 'application/json' },
  })
  app.addHook('onClose', () => client.close())

  app.get(
    '/rates/:currency',
    {
      schema: {
        params: CurrencyParams,
        querystring: NoQuery,
        response: {
          // Sent as is (a Buffer is never serialized): the upstream's body and Content-Type.
          200: Type.Unsafe<Buffer>({ description: "the upstream's body" }),
          ...errorResponses(400, 404, 502, 504),
        },
      },
    },
    async (request, reply) => {
      const { currency } = request.params
      let response
      try {
        response = await client.get(`/rates/${currency}`)
      } catch (error) {
        if (error instanceof UpstreamStatusError && error.value === 404)
          throw new NotFoundError('Rate', currency)
        throw error
      }
      return reply
        .header('x-cache', response.source)
        .type(response.contentType ?? 'application/octet-stream')
        .send(response.body)
    },
  )
  return client
}
