import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

import { sendableBody } from '../http/send-body.js'

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>

/**
 * A Fastify `schemaController` whose response serializers are Fastify's own (fast-json-stringify,
 * shared schemas included) with one change: a serialized body that is not ASCII is handed to Fastify
 * as its UTF-8 bytes instead of the string. Node measures, joins and encodes a string on every send,
 * and a string with a character past Latin-1 is two-byte in V8, so each of those steps walks it
 * again; bytes go out as they are. ASCII bodies stay strings (they go out with the headers in one
 * chunk, which is cheaper than bytes).
 *
 * Measured by `npx tsx bench/profiling/attribution.ts`: a non-ASCII 200-byte item sent by a
 * Fastify route costs about 10 µs of CPU per request more as a string than as bytes. The check
 * costs one UTF-8 length count per response.
 *
 * Hooks after serialization (`onSend`) then see a Buffer for such bodies; a serialization function
 * from `reply.getSerializationFunction` returns a string or a Buffer.
 *
 * @example
 * const app = Fastify({ schemaController: sendableSerialization() })
 */
export function sendableSerialization(): SchemaController {
  const fastJsonStringify = SerializerSelector()
  const buildSerializer: typeof fastJsonStringify = (externalSchemas, options) => {
    const compile = fastJsonStringify(externalSchemas, options)
    return (route) => {
      const serialize = compile(route)
      // Typed as returning a string by the compiler's types; Fastify sends a Buffer as well.
      return ((data: unknown) => sendableBody(serialize(data))) as (data: unknown) => string
    }
  }
  return { compilersFactory: { buildSerializer } }
}
