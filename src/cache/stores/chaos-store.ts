import { CacheStoreError } from '../../errors.js'

export type ChaosMode = 'healthy' | 'throw' | 'hang' | 'delay'

/** The asynchronous operations of the stores (the `Store` contract and the Redis tier's extras). */
const FAULTY_METHODS = new Set([
  'get',
  'getMany',
  'set',
  'delete',
  'deleteMany',
  'read',
  'readMany',
  'write',
  'remove',
  'removeMany',
  'acquireLease',
  'releaseLease',
  'readNumbers',
  'bump',
  'writeNumbers',
  'publish',
])

/** Controls added to a store wrapped by {@link chaosStore}. */
export interface ChaosControl {
  readonly chaos: {
    readonly mode: ChaosMode
    /** Calls made while the store was not healthy. */
    readonly faults: number
    /** Every call rejects with a CacheStoreError. */
    throwing(): void
    /** Every call waits until `healthy()` (or `throwing()`) is called; then it runs (or rejects). */
    hanging(): void
    /** Every call is delayed by `ms`. */
    delaying(ms: number): void
    healthy(): void
  }
}

/**
 * Wrap a store so that it fails on demand: throw, hang or delay every data operation. For fault
 * injection in tests; the wrapped store behaves normally while healthy. A hang lasts until the
 * mode changes (the Redis tier's own deadlines sit below this wrapper: use a frozen server to
 * test those).
 *
 * @example
 * const store = chaosStore(new MemoryStore())
 * store.chaos.throwing()
 * await store.get('k') // rejects with CacheStoreError
 */
export function chaosStore<S extends object>(store: S): S & ChaosControl {
  let mode: ChaosMode = 'healthy'
  let delayMs = 0
  let faults = 0
  let hung: { resolve: () => void }[] = []
  const releaseHung = (): void => {
    const waiting = hung
    hung = []
    for (const waiter of waiting) waiter.resolve()
  }
  const control: ChaosControl['chaos'] = {
    get mode() {
      return mode
    },
    get faults() {
      return faults
    },
    throwing() {
      mode = 'throw'
      releaseHung()
    },
    hanging() {
      mode = 'hang'
    },
    delaying(ms: number) {
      mode = 'delay'
      delayMs = ms
      releaseHung()
    },
    healthy() {
      mode = 'healthy'
      releaseHung()
    },
  }
  const wrap =
    (name: string, method: (...args: unknown[]) => unknown) =>
    async (...args: unknown[]): Promise<unknown> => {
      if (mode === 'healthy') return method.apply(store, args)
      faults++
      if (mode === 'delay') await new Promise((resolve) => setTimeout(resolve, delayMs))
      if (mode === 'hang') await new Promise<void>((resolve) => hung.push({ resolve }))
      if (mode === 'throw') throw new CacheStoreError(name, 'chaos: injected failure')
      return method.apply(store, args)
    }
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'chaos') return control
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function' || typeof property !== 'string') return value
      // Other methods (connection set-up, synchronous L1 access) are bound to the real store.
      if (!FAULTY_METHODS.has(property)) return (value as (...args: unknown[]) => unknown).bind(target)
      void receiver
      return wrap(property, value as (...args: unknown[]) => unknown)
    },
    set(target, property, value) {
      return Reflect.set(target, property, value, target)
    },
  }) as S & ChaosControl
}
