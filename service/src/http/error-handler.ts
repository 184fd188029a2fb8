import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HotpathError, describe } from '../../../src/errors.js'
import { DbUnavailableError, isDatabaseUnavailable } from '../db/pool-errors.js'

/** Fastify's own 4xx errors, renamed into the service's stable codes. */
const FASTIFY_CODES: Readonly<Record<string, { code: string; message?: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'E_BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'E_UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'E_MALFORMED_JSON', message: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'E_EMPTY_BODY',
    message: "The body is empty but Content-Type is 'application/json'; send a JSON object.",
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'E_BAD_CONTENT_LENGTH' },
}

/**
 * Errors Fastify answers itself before any route or hook runs (an undecodable path, a path
 * parameter longer than the router's 100-character limit): `frameworkErrors` for the Fastify
 * factory, so they too get the service's `{ error: { code, message } }` body.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH'
  void reply.code(tooLong ? 414 : (error.statusCode ?? 400)).send({
    error: {
      code: tooLong ? 'E_URL_TOO_LONG' : error.code === 'FST_ERR_BAD_URL' ? 'E_BAD_URL' : 'E_BAD_REQUEST',
      message: tooLong
        ? 'A path parameter is longer than 100 characters.'
        : 'The request path is not a valid URL (bad percent-encoding).',
    },
  })
}

const CLIENT_ERRORS: Readonly<Record<string, { status: number; code: string; message: string }>> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'E_REQUEST_TIMEOUT',
    message: 'The request was not received in time.',
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'E_HEADERS_TOO_LARGE',
    message: 'The request line and headers are larger than the server accepts (16 KiB).',
  },
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (a URL or headers over 16 KiB, a
 * request that timed out, malformed HTTP): `clientErrorHandler` for the Fastify factory, answered
 * in the service's error format instead of Fastify's default body.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const known = CLIENT_ERRORS[error.code ?? '']
  const status = known?.status ?? 400
  const body = JSON.stringify({
    error: {
      code: known?.code ?? 'E_BAD_REQUEST',
      message: known?.message ?? 'The request is not valid HTTP.',
    },
  })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy(error)
}

const PARTS: Readonly<Record<string, string>> = {
  body: 'body',
  querystring: 'query parameter',
  params: 'path parameter',
  headers: 'header',
}

function explain(error: FastifyError, request: FastifyRequest): string | undefined {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return `The request body is larger than the ${request.routeOptions.bodyLimit ?? 'configured'}-byte limit (BODY_LIMIT).`
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return `Content-Type ${describe(request.headers['content-type'] ?? '')} is not supported; send 'application/json'.`
  }
  return undefined
}

/**
 * One error handler for the whole service: every error becomes
 * `{ error: { code, message } }` with its status. Client mistakes keep their 4xx; anything
 * unexpected is logged and answered with a generic 500 that leaks nothing.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error.validation) {
      const first = error.validation[0]
      const part = PARTS[error.validationContext ?? ''] ?? 'request'
      const where = first?.instancePath
        ? ` '${first.instancePath.replace(/^\//, '').replaceAll('/', '.')}'`
        : ''
      const message = `Invalid ${part}${where}: ${first?.message ?? 'does not match the schema'}.`
      return reply.code(400).send({ error: { code: 'E_VALIDATION', message } })
    }
    if (error instanceof HotpathError && error.statusCode !== undefined) {
      if (error.statusCode === 401) reply.header('www-authenticate', 'Bearer')
      // Retryable refusals (a full pool, a full queue) say when to come back.
      const retryAfter = (error as { retryAfter?: unknown }).retryAfter
      if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter))
      return reply.code(error.statusCode).send({ error: { code: error.code, message: error.message } })
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      const known = FASTIFY_CODES[error.code]
      const code = known?.code ?? 'E_BAD_REQUEST'
      const message = known?.message ?? explain(error, request) ?? error.message
      return reply.code(status).send({ error: { code, message } })
    }
    if (isDatabaseUnavailable(error)) {
      // A database restart or a cut connection is not a bug: say so, and when to come back.
      request.log.warn({ err: error }, 'database unavailable')
      const unavailable = new DbUnavailableError({ cause: error })
      return reply
        .code(503)
        .header('retry-after', String(unavailable.retryAfter))
        .send({ error: { code: unavailable.code, message: unavailable.message } })
    }
    request.log.error({ err: error }, 'unhandled error')
    return reply.code(500).send({ error: { code: 'E_INTERNAL', message: 'Internal server error.' } })
  })

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({
      error: {
        code: 'E_ROUTE_NOT_FOUND',
        message: `Route ${request.method} ${describe(request.url.split('?')[0])} does not exist.`,
      },
    })
  })
}
