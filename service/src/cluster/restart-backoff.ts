/** Defaults of {@link RestartBackoff}. */
export const DEFAULT_RESTART_BACKOFF_BASE_MS = 250
export const DEFAULT_RESTART_BACKOFF_MAX_MS = 30_000
export const DEFAULT_RESTART_BACKOFF_WINDOW_MS = 60_000

export interface RestartBackoffOptions {
  /**
   * Delay before the second replacement within `windowMs`; it doubles with each further crash.
   * The first crash in a window is replaced at once.
   * @default 250
   */
  baseMs?: number
  /** @default 30000 */
  maxMs?: number
  /** Crashes older than this are forgotten. @default 60000 */
  windowMs?: number
}

/**
 * How long to wait before replacing a crashed worker, so that a worker crashing at start-up (bad
 * database, port taken) does not make the primary fork in a tight loop: 0 for the first crash in
 * the window, then base, 2×base, 4×base… up to max.
 *
 * @example
 * const backoff = new RestartBackoff()
 * backoff.next(now) // 0
 * backoff.next(now) // 250
 * backoff.next(now) // 500
 */
export class RestartBackoff {
  readonly #baseMs: number
  readonly #maxMs: number
  readonly #windowMs: number
  #crashes: number[] = []

  constructor(options: RestartBackoffOptions = {}) {
    this.#baseMs = options.baseMs ?? DEFAULT_RESTART_BACKOFF_BASE_MS
    this.#maxMs = options.maxMs ?? DEFAULT_RESTART_BACKOFF_MAX_MS
    this.#windowMs = options.windowMs ?? DEFAULT_RESTART_BACKOFF_WINDOW_MS
  }

  /** Record a crash at `now` and return the delay before its replacement (ms). */
  next(now: number = Date.now()): number {
    this.#crashes = this.#crashes.filter((at) => now - at < this.#windowMs)
    this.#crashes.push(now)
    const recent = this.#crashes.length
    if (recent <= 1) return 0
    return Math.min(this.#maxMs, this.#baseMs * 2 ** (recent - 2))
  }
}
