import { Type, type TSchema } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { createValidatorCompiler } from '../../../service/src/http/validator-compiler.js'

type Result = { value?: unknown; error?: Array<{ instancePath: string; message: string }> }

function validator(schema: TSchema, httpPart: string, ignored: string[] = []) {
  const compile = createValidatorCompiler(ignored)
  return compile({ schema, httpPart, method: 'GET', url: '/' }) as unknown as (input: unknown) => Result
}

const Query = Type.Object(
  {
    id: Type.Integer({ minimum: 1 }),
    ratio: Type.Optional(Type.Number()),
    flag: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)

describe('createValidatorCompiler', () => {
  it('converts query text strictly to the schema types', () => {
    const check = validator(Query, 'querystring')
    expect(check({ id: '12', ratio: '0.5', flag: 'true' })).toEqual({
      value: { id: 12, ratio: 0.5, flag: true },
    })
    for (const id of ['1.5', '1e3', '0x10', ' 1', '', 'abc']) {
      expect(check({ id }).error?.[0]?.instancePath, id).toBe('/id')
    }
  })

  it('rejects unknown properties instead of stripping them', () => {
    const result = validator(Query, 'querystring')({ id: '1', extra: 'x' })
    expect(result.error?.[0]).toMatchObject({ instancePath: '/extra' })
  })

  it('does not coerce bodies', () => {
    const check = validator(Query, 'body')
    expect(check({ id: '1' }).error?.[0]?.instancePath).toBe('/id')
    expect(check({ id: 1 })).toEqual({ value: { id: 1 } })
  })

  it('reports only the first error', () => {
    const result = validator(Query, 'body')({ id: 'x', ratio: 'y', flag: 'z', more: 1 })
    expect(result.error).toHaveLength(1)
  })

  it('hides ignored query parameters from the route schema', () => {
    const check = validator(Query, 'querystring', ['profile'])
    expect(check({ id: '1', profile: '1' })).toEqual({ value: { id: 1 } })
    expect(validator(Query, 'querystring')({ id: '1', profile: '1' }).error).toBeDefined()
  })
})
