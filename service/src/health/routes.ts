import { Type } from '@sinclair/typebox'
import { sql } from 'kysely'
import type { ServiceApp } from '../context.js'
import type { ServiceDatabase } from '../db/create-database.js'
import { NoQuery } from '../http/common-schemas.js'
import { errorResponses } from '../http/error-schema.js'

export const Health = Type.Object(
  { status: Type.Literal('ok'), database: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]) },
  { additionalProperties: false },
)

/** `GET /health`: 200 when the database answers a ping, 503 otherwise. */
export function registerHealthRoutes(app: ServiceApp, database: ServiceDatabase): void {
  app.get(
    '/health',
    { schema: { querystring: NoQuery, response: { 200: Health, ...errorResponses(400, 503) } } },
    async (request, reply) => {
      try {
        await sql`select 1`.execute(database.db)
      } catch (error) {
        request.log.warn({ err: error }, 'health check: database ping failed')
        return reply.code(503).send({
          error: { code: 'E_UNHEALTHY', message: `The ${database.dialect} database does not answer.` },
        })
      }
      return { status: 'ok' as const, database: database.dialect }
    },
  )
}
