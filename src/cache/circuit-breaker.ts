export type CircuitState = 'closed' | 'open' | 'half-open'

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly threshold: number
  /** How long the circuit stays open before one probe is let through, in ms. */
  readonly duration: number
  readonly onChange?: (state: CircuitState) => void
}

/**
 * A consecutive-failure circuit breaker. While open every call is refused at once; after
 * `duration` a single probe goes through (half-open) and its outcome closes or re-opens it.
 */
export class CircuitBreaker {
  #state: CircuitState = 'closed'
  #failures = 0
  #openedAt = 0
  #probing = false
  readonly #options: CircuitBreakerOptions

  constructor(options: CircuitBreakerOptions) {
    this.#options = options
  }

  get state(): CircuitState {
    return this.#state
  }

  /** True while open and still within its open duration (calls are refused without a probe). */
  refusing(): boolean {
    return this.#state === 'open' && Date.now() - this.#openedAt < this.#options.duration
  }

  /** Whether a call may go through now; in half-open state only one probe at a time may. */
  allow(): boolean {
    if (this.#state === 'closed') return true
    if (this.#state === 'open') {
      if (Date.now() - this.#openedAt < this.#options.duration) return false
      this.#set('half-open')
    }
    if (this.#probing) return false
    this.#probing = true
    return true
  }

  success(): void {
    this.#failures = 0
    this.#probing = false
    if (this.#state !== 'closed') this.#set('closed')
  }

  failure(): void {
    this.#probing = false
    this.#failures++
    if (
      this.#state === 'half-open' ||
      (this.#state === 'closed' && this.#failures >= this.#options.threshold)
    ) {
      this.#openedAt = Date.now()
      this.#set('open')
    }
  }

  #set(state: CircuitState): void {
    this.#state = state
    this.#options.onChange?.(state)
  }
}
