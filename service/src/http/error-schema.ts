import { Type, type Static } from '@sinclair/typebox'

/** Body of every error answer: `{ "error": { "code": "E_…", "message": "…" } }`. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false }),
  },
  { additionalProperties: false, $id: undefined },
)
export type ErrorResponse = Static<typeof ErrorResponse>

/** Response schemas for the error statuses a route can answer with, to document them per route. */
export function errorResponses<const S extends number>(...statuses: S[]): Record<S, typeof ErrorResponse> {
  const responses = {} as Record<S, typeof ErrorResponse>
  for (const status of statuses) responses[status] = ErrorResponse
  return responses
}
