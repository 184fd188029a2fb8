import { describe, expect, it } from 'vitest'
import { hashToken, TOKEN_PATTERN, tokenForUser } from '../../../service/src/auth/token.js'
import { escapeLike, normalizeQuery } from '../../../service/src/search/normalize-query.js'
import { generateItem, streamFor } from '../../../service/src/seed-data.js'
import { mulberry32 } from '../../../service/src/util/mulberry32.js'

describe('normalizeQuery', () => {
  it('folds width, case and whitespace', () => {
    expect(normalizeQuery('  Ｒed \t  LAMP ')).toBe('red lamp')
    expect(normalizeQuery('Café')).toBe(normalizeQuery('Cafe\u0301'))
    expect(normalizeQuery(' \n ')).toBe('')
  })
})

describe('escapeLike', () => {
  it('escapes LIKE wildcards and the escape character', () => {
    expect(escapeLike('100%_off\\')).toBe('100\\%\\_off\\\\')
    expect(escapeLike('plain')).toBe('plain')
  })
})

describe('tokens', () => {
  it('derives a stable 64-hex token per (seed, user) and stores only its hash', () => {
    const token = tokenForUser(42, 1)
    expect(token).toMatch(TOKEN_PATTERN)
    expect(tokenForUser(42, 1)).toBe(token)
    expect(tokenForUser(42, 2)).not.toBe(token)
    expect(tokenForUser(43, 1)).not.toBe(token)
    expect(hashToken(token)).toMatch(TOKEN_PATTERN)
    expect(hashToken(token)).not.toBe(token)
  })
})

describe('mulberry32 and generators', () => {
  it('repeats its sequence for a seed and stays in [0, 1)', () => {
    const a = mulberry32(7)
    const b = mulberry32(7)
    const values = Array.from({ length: 1000 }, () => a())
    expect(values).toEqual(Array.from({ length: 1000 }, () => b()))
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true)
    expect(mulberry32(8)()).not.toBe(values[0])
  })

  it('generates the same item for the same seed and id', () => {
    const first = generateItem(streamFor(42, 'items'), 1)
    expect(generateItem(streamFor(42, 'items'), 1)).toEqual(first)
    expect(first).toMatchObject({ id: 1, version: 1 })
    expect(first.updated_at).toMatch(/^2024-|^2025-/)
  })
})
