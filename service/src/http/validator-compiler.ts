import type { FastifySchemaCompiler } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

/**
 * Request validation with TypeBox's compiled checks instead of Fastify's default Ajv, because Ajv
 * is configured once for every part of the request: its `removeAdditional` silently strips unknown
 * fields and its `coerceTypes` turns `"12"` into `12` in JSON bodies too. Here:
 * - unknown properties are rejected everywhere (schemas say `additionalProperties: false`);
 * - query strings and path params (always text) are converted to the schema's types, strictly:
 *   `"12"` becomes 12 for an integer but `"1.5"`, `"1e3"` and `"0x1"` stay text and fail (TypeBox's
 *   own `Value.Convert` would truncate `"1.5"` to 1);
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
    const converters = httpPart === 'body' ? undefined : propertyConverters(schema)
    const strip = httpPart === 'querystring' && ignoredQueryParams.length > 0
    return (input: unknown) => {
      let value = input
      if (strip) value = withoutKeys(value, ignoredQueryParams)
      if (converters !== undefined) value = convertProperties(value, converters)
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

type Converter = (text: string) => unknown

const INTEGER = /^-?\d{1,16}$/
const NUMBER = /^-?\d{1,16}(\.\d{1,16})?$/

const toInteger: Converter = (text) => (INTEGER.test(text) ? Number(text) : text)
const toNumber: Converter = (text) => (NUMBER.test(text) ? Number(text) : text)
const toBoolean: Converter = (text) => (text === 'true' ? true : text === 'false' ? false : text)

/** Text-to-type converters for the top-level properties of an object schema (query, params). */
function propertyConverters(schema: TSchema): Map<string, Converter> {
  const converters = new Map<string, Converter>()
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {}
  for (const [name, property] of Object.entries(properties)) {
    if (property.type === 'integer') converters.set(name, toInteger)
    else if (property.type === 'number') converters.set(name, toNumber)
    else if (property.type === 'boolean') converters.set(name, toBoolean)
  }
  return converters
}

/** Converts in place: Fastify builds a fresh params and query object for every request. */
function convertProperties(value: unknown, converters: Map<string, Converter>): unknown {
  if (converters.size === 0 || typeof value !== 'object' || value === null) return value
  const record = value as Record<string, unknown>
  for (const [name, convert] of converters) {
    const text = record[name]
    if (typeof text === 'string') record[name] = convert(text)
  }
  return value
}
