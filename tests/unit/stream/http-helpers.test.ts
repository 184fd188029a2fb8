import { gunzipSync, brotliDecompressSync } from 'node:zlib'
import { buffer } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'

import {
  compressExport,
  contentDisposition,
  exportEtag,
  ifNoneMatchMatches,
  negotiateEncoding,
  toCsv,
} from '../../../src/stream/index.js'

describe('contentDisposition', () => {
  it('gives an ASCII fallback and the exact UTF-8 name in filename*', () => {
    expect(contentDisposition('items.csv')).toBe(
      `attachment; filename="items.csv"; filename*=UTF-8''items.csv`,
    )
    expect(contentDisposition('élément "2024".csv')).toBe(
      `attachment; filename="_l_ment _2024_.csv"; filename*=UTF-8''%C3%A9l%C3%A9ment%20%222024%22.csv`,
    )
  })

  it('drops directories, control characters and header-breaking text', () => {
    const value = contentDisposition('../../etc/pass\r\nSet-Cookie: x=1;wd.csv', { type: 'inline' })
    expect(value).not.toMatch(/[\r\n]/)
    expect(value.startsWith('inline; filename="passSet-Cookie: x=1;wd.csv"')).toBe(true)
    expect(value).toContain(`filename*=UTF-8''passSet-Cookie%3A%20x%3D1%3Bwd.csv`)
    expect(contentDisposition('')).toContain('filename="download"')
  })
})

describe('exportEtag / ifNoneMatchMatches', () => {
  it('changes with the count, the newest update and the variant', () => {
    const base = exportEtag({ count: 10, maxUpdatedAt: new Date('2024-01-01T00:00:00Z'), variant: 'csv' })
    expect(base).toMatch(/^W\/"[A-Za-z0-9_-]+"$/)
    expect(exportEtag({ count: 10, maxUpdatedAt: '2024-01-01T00:00:00.000Z', variant: 'csv' })).toBe(base)
    expect(
      exportEtag({ count: 11, maxUpdatedAt: new Date('2024-01-01T00:00:00Z'), variant: 'csv' }),
    ).not.toBe(base)
    expect(
      exportEtag({ count: 10, maxUpdatedAt: new Date('2024-01-01T00:00:01Z'), variant: 'csv' }),
    ).not.toBe(base)
    expect(
      exportEtag({ count: 10, maxUpdatedAt: new Date('2024-01-01T00:00:00Z'), variant: 'ndjson' }),
    ).not.toBe(base)
  })

  it('compares weakly, in lists and with *', () => {
    const etag = 'W/"abc"'
    expect(ifNoneMatchMatches(undefined, etag)).toBe(false)
    expect(ifNoneMatchMatches('"abc"', etag)).toBe(true)
    expect(ifNoneMatchMatches('W/"zzz", W/"abc"', etag)).toBe(true)
    expect(ifNoneMatchMatches('*', etag)).toBe(true)
    expect(ifNoneMatchMatches('"abcd"', etag)).toBe(false)
  })
})

describe('negotiateEncoding', () => {
  it('follows q-values, prefers brotli on ties and falls back to identity', () => {
    expect(negotiateEncoding(undefined)).toBe('identity')
    expect(negotiateEncoding('gzip, deflate, br')).toBe('br')
    expect(negotiateEncoding('gzip, br;q=0.5')).toBe('gzip')
    expect(negotiateEncoding('deflate')).toBe('identity')
    expect(negotiateEncoding('br;q=0, gzip;q=0')).toBe('identity')
    expect(negotiateEncoding('*')).toBe('br')
    expect(negotiateEncoding('identity;q=0')).toBeUndefined()
    expect(negotiateEncoding('*;q=0')).toBeUndefined()
  })
})

describe('compressExport', () => {
  it('compresses with gzip and brotli so that the bytes decompress to the CSV', async () => {
    const rows = Array.from({ length: 5_000 }, (_, id) => ({ id, name: `item_${id}` }))
    const plain = (await buffer(toCsv(rows, ['id', 'name']))).toString()
    const gz = await buffer(compressExport(toCsv(rows, ['id', 'name']), 'gzip'))
    const br = await buffer(compressExport(toCsv(rows, ['id', 'name']), 'br'))
    expect(gunzipSync(gz).toString()).toBe(plain)
    expect(brotliDecompressSync(br).toString()).toBe(plain)
    expect(gz.length).toBeLessThan(plain.length / 2)
  })

  it('destroys the source when the compressed stream is destroyed', async () => {
    let returned = false
    async function* rows() {
      try {
        for (let id = 0; ; id++) yield { id, pad: 'x'.repeat(100) }
      } finally {
        returned = true
      }
    }
    const source = toCsv(rows(), ['id', 'pad'], { chunkSize: 4096 })
    const body = compressExport(source, 'gzip')
    await new Promise<void>((resolve) => body.once('data', () => resolve()))
    body.destroy()
    await new Promise<void>((resolve) => source.once('close', () => resolve()))
    expect(returned).toBe(true)
  })
})
