import type { FastifySchemaCompiler } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'

/**
 * Request validation with TypeBox's compiled checks instead of Fastify's default Ajv, because Ajv
 * is configured once for every part of the request: its `removeAdditional` silently strips unknown
 * fields and its `coerceTypes` turns `"12"` into `12` in JSON bodies too. Here:
 * - unknown properties are rejected everywhere (schemas say `additionalProperties: false`);
 * - query strings and path params (always text) are converted to the schema's types;
 * - bodies are checked as sent, without coercion.
 * Only the first error is reported: collecting all errors lets a client make validation expensive.
 *
 * @param ignoredQueryParams query parameters accepted on every route and hidden from route schemas
 * (for plugins that read their own switch, such as `?profile=1`)
 */
export function createValidatorCompiler(
  ignoredQueryParams: readonly string[] = [],
): FastifySchemaCompiler<TSchema> {
  return ({ schema, httpPart }) => {
    const check = TypeCompiler.Compile(schema)
    const convert = httpPart !== 'body'
    const strip = httpPart === 'querystring' && ignoredQueryParams.length > 0
    return (input: unknown) => {
      let value = input
      if (strip) value = withoutKeys(value, ignoredQueryParams)
      if (convert) value = Value.Convert(schema, value)
      if (check.Check(value)) return { value }
      const first = check.Errors(value).First()
      return {
        error: [
          {
            keyword: 'typebox',
            instancePath: first?.path ?? '',
            schemaPath: '',
            params: {},
            message: first?.message ?? 'is invalid',
          },
        ],
      } as never
    }
  }
}

function withoutKeys(value: unknown, keys: readonly string[]): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (!keys.some((key) => key in value)) return value
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  for (const key of keys) delete copy[key]
  return copy
}
