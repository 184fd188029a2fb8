import { describe, expect, it } from 'vitest'

import { readCookie } from '../../../src/fastify/dashboard/dashboard-auth.js'
import { histogramQuantile } from '../../../src/fastify/dashboard/dashboard-sampler.js'
import { hashedName, isHashedName } from '../../../src/static/build-assets.js'

describe('histogramQuantile', () => {
  const bounds = [0.001, 0.01, 0.1, Infinity]

  it('interpolates inside the bucket that holds the rank, in milliseconds', () => {
    // 10 requests under 1 ms, 10 between 1 and 10 ms.
    expect(histogramQuantile(0.5, bounds, [10, 20, 20, 20])).toBe(1)
    expect(histogramQuantile(0.75, bounds, [10, 20, 20, 20])).toBe(5.5)
    expect(histogramQuantile(0.25, bounds, [10, 20, 20, 20])).toBe(0.5)
  })

  it('is null without observations and caps at the last finite bound', () => {
    expect(histogramQuantile(0.5, bounds, [0, 0, 0, 0])).toBeNull()
    expect(histogramQuantile(0.99, bounds, [0, 0, 0, 5])).toBe(100)
  })
})

describe('readCookie', () => {
  it('finds one cookie among several, and nothing when absent', () => {
    expect(readCookie('a=1; hotpath_dashboard=abc-_x; b=2', 'hotpath_dashboard')).toBe('abc-_x')
    expect(readCookie('hotpath_dashboardx=1', 'hotpath_dashboard')).toBeUndefined()
    expect(readCookie(undefined, 'hotpath_dashboard')).toBeUndefined()
  })
})

describe('hashed names', () => {
  it('puts the hash before the last extension and recognises it, also on .br/.gz variants', () => {
    expect(hashedName('uPlot.iife.min.js', '0123abcd')).toBe('uPlot.iife.min.0123abcd.js')
    expect(hashedName('img/logo.png', '0123abcd')).toBe('img/logo.0123abcd.png')
    expect(isHashedName('/x/app.0123abcd.js.br')).toBe(true)
    expect(isHashedName('app.js')).toBe(false)
    expect(isHashedName('app.0123ABCD.js')).toBe(false)
  })
})
