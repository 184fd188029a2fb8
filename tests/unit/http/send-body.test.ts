import { describe, expect, it } from 'vitest'
import { cheaperOf, keptBody, ownedBytes, ownedUtf8, sendableBody } from '../../../src/http/send-body.js'

const ASCII = '{"id":1,"name":"Tent"}'
const WIDE = '{"id":5,"name":"Über Tent 5","description":"🚀 fast"}'

describe('sendableBody', () => {
  it('keeps an ASCII text as the string itself', () => {
    expect(sendableBody(ASCII)).toBe(ASCII)
    expect(sendableBody(ASCII, true)).toBe(ASCII)
  })

  it('turns a non-ASCII text into its UTF-8 bytes', () => {
    const body = sendableBody(WIDE)
    expect(Buffer.isBuffer(body)).toBe(true)
    expect((body as Buffer).equals(Buffer.from(WIDE, 'utf8'))).toBe(true)
  })

  it('gives owned bytes their own memory, not a view into the shared pool', () => {
    const pooled = sendableBody(WIDE) as Buffer
    const owned = sendableBody(WIDE, true) as Buffer
    // Small Buffer.from results are views into Node's 8 KiB pool; an owned one is not.
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length)
    expect(owned.buffer.byteLength).toBe(owned.length)
    expect(owned.equals(pooled)).toBe(true)
    expect(ownedUtf8(WIDE).buffer.byteLength).toBe(Buffer.byteLength(WIDE))
  })

  it('treats Latin-1 text past ASCII as non-ASCII (its UTF-8 is longer than the string)', () => {
    const body = sendableBody('café')
    expect(Buffer.isBuffer(body) && body.toString('utf8')).toBe('café')
  })
})

describe('keptBody and ownedBytes', () => {
  it('copies a pooled view and keeps bytes that own their memory', () => {
    const pooled = Buffer.from(WIDE)
    const kept = keptBody(pooled) as Buffer
    expect(kept).not.toBe(pooled)
    expect(kept.equals(pooled)).toBe(true)
    expect(kept.buffer.byteLength).toBe(kept.length)
    expect(ownedBytes(kept)).toBe(kept)
    expect(keptBody(ASCII)).toBe(ASCII)
  })
})

describe('cheaperOf', () => {
  it('answers the string when it is ASCII and the bytes otherwise', () => {
    expect(cheaperOf(ASCII, Buffer.from(ASCII))).toBe(ASCII)
    const bytes = Buffer.from(WIDE)
    expect(cheaperOf(WIDE, bytes)).toBe(bytes)
  })
})
