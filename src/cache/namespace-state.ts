let stampCounter = 0

/** The next process-wide stamp: every namespace change gets a value never used before. */
export function nextStamp(): number {
  return ++stampCounter
}

/**
 * In-process state of one namespace: its generation (from Redis, kept current by the coherence
 * channel), the stamp L1 records are checked against, and the Redis key prefix derived from the
 * generations of the whole chain.
 */
export class NamespaceState {
  readonly path: string
  readonly name: string
  readonly parent: NamespaceState | undefined
  readonly children: NamespaceState[] = []
  /** Prefix of L1 keys: '' for the root, `path + NUL` otherwise (raw keys never contain NUL). */
  readonly l1Prefix: string
  /** Redis key of the generation counter. */
  readonly genKey: string
  /** Hash tag segment: the top-level namespace name, so a namespace lives in one cluster slot. */
  readonly top: string
  gen: number | undefined
  stamp: number
  #lastGen = 0
  #keyPrefix: string | undefined
  readonly #base: string

  constructor(base: string, name: string, parent: NamespaceState | undefined) {
    this.#base = base
    this.name = name
    this.parent = parent
    this.path = parent === undefined ? '' : parent.path === '' ? name : `${parent.path}:${name}`
    this.l1Prefix = this.path === '' ? '' : `${this.path}\0`
    const topState = this.#topState()
    this.top = topState === undefined ? '' : topState.name
    this.genKey = this.path === '' ? `${base}:gen` : `${base}:{${this.top}}:gen:${this.path}`
    this.gen = undefined
    this.stamp = nextStamp()
    parent?.children.push(this)
  }

  #topState(): NamespaceState | undefined {
    if (this.parent === undefined) return undefined
    if (this.parent.parent === undefined) return this
    return this.parent.#topState()
  }

  /** The namespaces from the root down to this one. */
  chain(): NamespaceState[] {
    return this.parent === undefined ? [this] : [...this.parent.chain(), this]
  }

  /** Whether every generation of the chain is known. */
  known(): boolean {
    return this.gen !== undefined && (this.parent === undefined || this.parent.known())
  }

  /**
   * The Redis key prefix for this namespace (generations known). Root keys are `base:r<g>:k:{key}`;
   * namespaced ones `base:r<g>:{top}:<g>:n:<child>:<g>:k:key`, so a key can never look like a
   * namespace segment and a namespace's keys share the `{top}` hash tag.
   */
  keyPrefix(): string {
    if (this.#keyPrefix !== undefined) return this.#keyPrefix
    let prefix: string
    if (this.parent === undefined) prefix = `${this.#base}:r${this.gen ?? 0}:`
    else if (this.parent.parent === undefined)
      prefix = `${this.parent.keyPrefix()}{${this.name}}:${this.gen ?? 0}:`
    else prefix = `${this.parent.keyPrefix()}n:${this.name}:${this.gen ?? 0}:`
    this.#keyPrefix = prefix
    return prefix
  }

  /** The Redis key of a raw key in this namespace. */
  redisKey(key: string): string {
    return this.parent === undefined ? `${this.keyPrefix()}k:{${key}}` : `${this.keyPrefix()}k:${key}`
  }

  /**
   * Record a generation. Generations only grow; a change makes every L1 record of this namespace
   * and its descendants unservable (new stamps) and their key prefixes are recomputed.
   */
  setGen(gen: number): boolean {
    if (this.gen !== undefined && gen <= this.gen) return false
    const changed = gen > this.#lastGen && (this.gen !== undefined || this.#lastGen > 0)
    this.gen = gen
    this.#lastGen = Math.max(this.#lastGen, gen)
    this.#invalidateDown(changed)
    return changed
  }

  /** Forget the generation (after a lost coherence channel); it is fetched again before use. */
  forget(): void {
    if (this.gen !== undefined) this.#lastGen = Math.max(this.#lastGen, this.gen)
    this.gen = undefined
    this.#keyPrefix = undefined
    for (const child of this.children) child.forget()
  }

  /** A local-only invalidation (L1-only caches and the local side of a bump). */
  bumpLocal(): void {
    this.gen = Math.max(this.gen ?? 0, this.#lastGen) + 1
    this.#lastGen = this.gen
    this.#invalidateDown(true)
  }

  #invalidateDown(newStamp: boolean): void {
    this.#keyPrefix = undefined
    if (newStamp) this.stamp = nextStamp()
    for (const child of this.children) child.#invalidateDown(newStamp)
  }
}
