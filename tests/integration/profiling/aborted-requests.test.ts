/**
 * Aborted requests without a per-request abort listener: the diagnostics hooks end the context of
 * a request whose client left when the in-flight set is next read, and a profiled request whose
 * client left releases the profiler. A live request stays in flight.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { profilingPlugin } from '../../../src/fastify/profiling.js'
import { activeRequestContexts, takeRecentRoutes } from '../../../src/profiling/request-context.js'

const TOKEN = 'aborted-requests-admin-token'

let app: FastifyInstance
let dir: string
let origin: string
const waiting: (() => void)[] = []
let entered = 0

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hotpath-aborted-'))
  app = Fastify()
  // The blocking detector is what makes in-flight requests tracked.
  await app.register(profilingPlugin, {
    enabled: true,
    adminToken: TOKEN,
    dir,
    blocking: { threshold: 1_000 },
  })
  app.get('/hold/:name', async () => {
    entered++
    await new Promise<void>((resolve) => waiting.push(resolve))
    return { done: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
})

afterAll(async () => {
  for (const release of waiting.splice(0)) release()
  await app.close()
  await rm(dir, { recursive: true, force: true })
})

function inFlight(route: string): number {
  return [...activeRequestContexts()].filter((context) => context.route === route).length
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Send a GET and return a function that abandons it (destroys the socket). */
function send(
  url: string,
  headers: Record<string, string> = {},
): { abort: () => void; done: Promise<number> } {
  const request = http.get(url, { headers, agent: false })
  const done = new Promise<number>((resolve) => {
    request.on('response', (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode ?? 0))
    })
    request.on('error', () => resolve(-1))
  })
  return { abort: () => request.destroy(), done }
}

describe('aborted requests', () => {
  it('an aborted request leaves the in-flight set; a live one stays until it is answered', async () => {
    const before = entered
    const live = send(`${origin}/hold/live`)
    const gone = send(`${origin}/hold/gone`)
    await until(() => entered === before + 2, 'both requests in the handler')
    expect(inFlight('/hold/:name')).toBe(2)
    gone.abort()
    expect(await gone.done).toBe(-1)
    await until(() => inFlight('/hold/:name') === 1, 'the aborted request pruned')
    // The aborted request still counts as recently seen for the blocking detector's report.
    expect(takeRecentRoutes()).toContain('GET /hold/:name')
    for (const release of waiting.splice(0)) release()
    expect(await live.done).toBe(200)
    await until(() => inFlight('/hold/:name') === 0, 'the answered request ended')
  })

  it('a profiled request whose client leaves releases the profiler for the next one', async () => {
    const before = entered
    const profiled = send(`${origin}/hold/profiled?profile=1`, { authorization: `Bearer ${TOKEN}` })
    await until(() => entered === before + 1, 'the profiled request in the handler')
    profiled.abort()
    await profiled.done
    // The aborted request's handler is still waiting: only its response closing can release the
    // profiler. One profile at a time, so the next profiled request is refused (503) unless it was.
    const next = send(`${origin}/hold/next?profile=1`, { authorization: `Bearer ${TOKEN}` })
    const refusedOrEntered = await Promise.race([
      next.done.then((status) => `answered ${status}`),
      until(() => waiting.length === 2, 'the next profiled request in the handler').then(() => 'entered'),
    ])
    expect(refusedOrEntered).toBe('entered')
    for (const release of waiting.splice(0)) release()
    expect(await next.done).toBe(200)
  })
})
