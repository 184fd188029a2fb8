import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'

import { pipeExport, toCsv, type ExportOutcome } from '../../../src/stream/index.js'

interface Served {
  url: string
  outcome: Promise<ExportOutcome>
  errors: Error[]
  produced: () => number
}

let server: http.Server | undefined

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve))
  server = undefined
})

async function serve(rows: () => Iterable<object> | AsyncIterable<object>): Promise<Served> {
  const errors: Error[] = []
  let resolveOutcome!: (outcome: ExportOutcome) => void
  const outcome = new Promise<ExportOutcome>((resolve) => (resolveOutcome = resolve))
  let body: ReturnType<typeof toCsv> | undefined
  server = http.createServer((_request, response) => {
    response.setHeader('content-type', 'text/csv')
    body = toCsv(rows(), ['id', 'pad'] as never)
    void pipeExport(body, response, { onError: (error) => errors.push(error) }).then(resolveOutcome)
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/`, outcome, errors, produced: () => body?.byteCount ?? 0 }
}

/** Read the whole response; resolves with what arrived and whether the response was cut off. */
function fetchAll(url: string): Promise<{ body: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (response) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (body += chunk))
        response.on('end', () => resolve({ body, complete: response.complete }))
        response.on('error', () => resolve({ body, complete: false }))
        response.on('aborted', () => resolve({ body, complete: false }))
      })
      .on('error', reject)
  })
}

describe('pipeExport over a real socket', () => {
  it('completes a whole export', async () => {
    const served = await serve(() => Array.from({ length: 1000 }, (_, id) => ({ id, pad: 'x' })))
    const { body, complete } = await fetchAll(served.url)
    expect(complete).toBe(true)
    expect(body.split('\r\n')).toHaveLength(1002)
    expect(await served.outcome).toBe('completed')
  })

  it('cuts the response off and reports the error when the source fails mid-stream', async () => {
    const served = await serve(async function* () {
      for (let id = 0; id < 50_000; id++) yield { id, pad: 'x'.repeat(20) }
      throw new Error('database went away')
    })
    const { body, complete } = await fetchAll(served.url)
    expect(await served.outcome).toBe('failed')
    expect(served.errors.map((error) => error.message)).toEqual(['database went away'])
    // The client must be able to tell a truncated file from a whole one.
    expect(complete).toBe(false)
    expect(body.length).toBeGreaterThan(0)
  })

  it('stops producing and releases the source when the client hangs up', async () => {
    let released = false
    const served = await serve(function* () {
      try {
        for (let id = 0; ; id++) yield { id, pad: 'y'.repeat(100) }
      } finally {
        released = true
      }
    })
    await new Promise<void>((resolve, reject) => {
      const request = http.get(served.url, (response) => {
        response.once('data', () => {
          request.destroy()
          resolve()
        })
      })
      request.on('error', (error) => (request.destroyed ? undefined : reject(error)))
    })
    expect(await served.outcome).toBe('aborted')
    expect(released).toBe(true)
    expect(served.errors).toEqual([])
  })
})
