import v8 from 'node:v8'
import vm from 'node:vm'
import { expect, it } from 'vitest'
import { createCache, memoryStore } from '../../../src/cache/index.js'

const MAX_BYTES = 16 * 1024 * 1024
const KEYS = 1_000_000

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

it('1,000,000 distinct keys leave L1 within maxBytes', { timeout: 120_000 }, async () => {
  const cache = createCache({ l1: memoryStore({ maxBytes: MAX_BYTES }) })
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  let peak = 0
  for (let i = 0; i < KEYS; i++) {
    await cache.set(`item:${i}`, { id: i, name: `name-${i}`, price: i / 100 })
    if (i % 50_000 === 0) peak = Math.max(peak, cache.stats().l1Size.bytes)
  }
  const { l1Size } = cache.stats()
  peak = Math.max(peak, l1Size.bytes)
  expect(peak).toBeLessThanOrEqual(MAX_BYTES)
  expect(l1Size.bytes).toBeGreaterThan(MAX_BYTES * 0.9)
  expect(l1Size.items).toBeLessThan(KEYS)
  // The most recent keys are kept, the oldest were evicted.
  expect(await cache.get(`item:${KEYS - 1}`)).toMatchObject({ id: KEYS - 1 })
  expect(await cache.get('item:0')).toBeUndefined()
  gc()
  const growth = process.memoryUsage().heapUsed - heapBefore
  console.log(
    `L1 bound: ${l1Size.items} items, ${l1Size.bytes} calculated bytes, heap growth ${growth} bytes`,
  )
  // Loose: calculated sizes are estimates of V8's real object sizes.
  expect(growth).toBeLessThan(MAX_BYTES * 2)
  await cache.close()
})
