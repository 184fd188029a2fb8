import { describe, expect, it } from 'vitest'
import {
  etagForCoding,
  formatETag,
  parseETag,
  parseETagList,
  strongMatch,
  weakMatch,
} from '../../../src/http/etag.js'

describe('entity tags', () => {
  it('parses strong and weak tags and rejects malformed ones', () => {
    expect(parseETag('"abc"')).toEqual({ weak: false, opaque: 'abc' })
    expect(parseETag('W/"abc"')).toEqual({ weak: true, opaque: 'abc' })
    expect(parseETag('""')).toEqual({ weak: false, opaque: '' })
    expect(parseETag('abc')).toBeUndefined()
    expect(parseETag('"a"b"')).toBeUndefined()
    expect(parseETag('w/"abc"')).toBeUndefined()
    expect(parseETag('"abc')).toBeUndefined()
  })

  it('formats tags round-trip', () => {
    expect(formatETag({ weak: false, opaque: 'x' })).toBe('"x"')
    expect(formatETag({ weak: true, opaque: 'x' })).toBe('W/"x"')
  })

  it('parses lists, `*`, tags containing commas and skips junk', () => {
    expect(parseETagList('*')).toBe('*')
    expect(parseETagList(' * ')).toBe('*')
    expect(parseETagList('"a", W/"b" ,"c,d"')).toEqual([
      { weak: false, opaque: 'a' },
      { weak: true, opaque: 'b' },
      { weak: false, opaque: 'c,d' },
    ])
    expect(parseETagList('junk, "ok"')).toEqual([{ weak: false, opaque: 'ok' }])
    expect(parseETagList(['"a"', '"b"'])).toHaveLength(2)
    expect(parseETagList(undefined)).toBeUndefined()
  })

  it('compares strongly and weakly per RFC 9110 §8.8.3.2 table', () => {
    const w1 = { weak: true, opaque: '1' }
    const w2 = { weak: true, opaque: '2' }
    const s1 = { weak: false, opaque: '1' }
    expect(strongMatch(w1, w1)).toBe(false)
    expect(weakMatch(w1, w1)).toBe(true)
    expect(strongMatch(w1, w2)).toBe(false)
    expect(weakMatch(w1, w2)).toBe(false)
    expect(strongMatch(w1, s1)).toBe(false)
    expect(weakMatch(w1, s1)).toBe(true)
    expect(strongMatch(s1, s1)).toBe(true)
  })

  it('gives every content coding its own tag', () => {
    expect(etagForCoding('"abc"', 'identity')).toBe('"abc"')
    expect(etagForCoding('"abc"', 'gzip')).toBe('"abc-gz"')
    expect(etagForCoding('"abc"', 'br')).toBe('"abc-br"')
    expect(etagForCoding('W/"abc"', 'gzip')).toBe('W/"abc-gz"')
  })
})
