import { createHmac } from 'node:crypto'

import type { FastifyReply, FastifyRequest } from 'fastify'

import { ADMIN_TOKEN_HEADER, presentedToken, tokenChecker } from '../profiling/admin-token.js'

/** Name of the dashboard session cookie. */
export const DASHBOARD_COOKIE = 'hotpath_dashboard'
/** Lifetime of the dashboard session cookie, in seconds (12 hours). */
export const DASHBOARD_COOKIE_MAX_AGE_S = 12 * 60 * 60

/**
 * Admin access to the dashboard: `Authorization: Bearer <token>`, `X-Hotpath-Admin-Token`, or the
 * session cookie that `GET <prefix>/?token=<token>` sets. The cookie holds an HMAC of the token,
 * never the token itself, so a leaked cookie does not open the profiling routes.
 */
export interface DashboardAuth {
  authorized(request: FastifyRequest): boolean
  /** True when `token` is the admin token. */
  isToken(token: string | undefined): boolean
  /** Set the session cookie on `reply`. */
  setCookie(request: FastifyRequest, reply: FastifyReply, path: string): void
}

export function dashboardAuth(adminToken: string): DashboardAuth {
  const isToken = tokenChecker(adminToken)
  const session = createHmac('sha256', adminToken).update('hotpath-dashboard-session/1').digest('base64url')
  const isSession = tokenChecker(session)
  return {
    isToken,
    authorized(request) {
      if (isToken(presentedToken(request, ADMIN_TOKEN_HEADER))) return true
      return isSession(readCookie(request.headers.cookie, DASHBOARD_COOKIE))
    },
    setCookie(request, reply, path) {
      const secure = request.protocol === 'https' ? '; Secure' : ''
      reply.header(
        'set-cookie',
        `${DASHBOARD_COOKIE}=${session}; Path=${path}; Max-Age=${DASHBOARD_COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Strict${secure}`,
      )
    },
  }
}

/** The value of one cookie in a `Cookie` header (RFC 6265 §4.2: `name=value; name2=value2`). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const separator = part.indexOf('=')
    if (separator === -1) continue
    if (part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim()
  }
  return undefined
}
