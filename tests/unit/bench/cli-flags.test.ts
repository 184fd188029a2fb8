import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { BENCH_EXIT, parseHeaderFlags, parseTarget } from '../../../cli/commands/bench.js'

describe('hotpath bench flags', () => {
  it('parses -H "name: value" headers, keeping colons in values', () => {
    expect(
      parseHeaderFlags(['accept: application/json', 'x-trace:a:b', 'Authorization:  Bearer t ']),
    ).toEqual({
      accept: 'application/json',
      'x-trace': 'a:b',
      Authorization: 'Bearer t',
    })
    expect(() => parseHeaderFlags(['no colon'])).toThrow(InvalidArgumentError)
    expect(() => parseHeaderFlags([': empty name'])).toThrow(InvalidArgumentError)
  })

  it('reads name=URL targets and bare URLs', () => {
    expect(parseTarget('cached=http://127.0.0.1:3001/items/{id}')).toEqual({
      name: 'cached',
      url: 'http://127.0.0.1:3001/items/{id}',
    })
    expect(parseTarget('http://127.0.0.1:3001/items/1?a=b')).toEqual({
      name: 'http://127.0.0.1:3001/items/1?a=b',
      url: 'http://127.0.0.1:3001/items/1?a=b',
    })
  })

  it('has distinct exit codes for CI', () => {
    expect(new Set(Object.values(BENCH_EXIT)).size).toBe(4)
    expect(BENCH_EXIT.budgetViolated).toBe(1)
  })
})
