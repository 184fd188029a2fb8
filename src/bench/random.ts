/** A seeded source of uniform numbers in [0, 1). */
export type Random = () => number

/**
 * A small, fast, seeded PRNG (mulberry32). Benchmarks need the same key sequence on every run so
 * that two targets or two rounds receive identical load; `Math.random` cannot be seeded.
 *
 * @example
 * const random = createRandom(42)
 * random() // 0.6011...
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
