import { DEFAULT_BLOCKING_INTERVAL_MS, DEFAULT_BLOCKING_THRESHOLD_MS } from './defaults.js'
import { forgetEndedRequests, takeRecentRoutes, watchEndedRequests } from './request-context.js'
import { parseDuration, type Duration } from '../util/duration.js'

/** An event-loop stall the {@link BlockingDetector} saw. */
export interface EventLoopStall {
  /** How much later than scheduled the detector's timer ran. */
  delayMs: number
  /** `METHOD /route` of the requests in flight during the stall (deduplicated). */
  routes: string[]
}

export interface BlockingDetectorOptions {
  /**
   * Stalls longer than this are reported.
   * @default 100 (ms)
   */
  threshold?: Duration
  /**
   * Timer period; a stall is detected at most this much after it ends.
   * @default 20 (ms)
   */
  interval?: Duration
  /** Called for every stall. */
  onStall: (stall: EventLoopStall) => void
}

/**
 * Detects event-loop stalls with a timer-drift sampler: an unref'd interval timer checks how late it
 * runs. Each stall is reported with the routes that were in flight during it, which includes a
 * synchronous handler that has already answered by the time the timer gets to run.
 *
 * @example
 * const detector = new BlockingDetector({ threshold: '100ms', onStall: (s) => log.warn(s, 'event loop blocked') })
 * detector.start()
 */
export class BlockingDetector {
  readonly thresholdMs: number
  readonly intervalMs: number
  private readonly onStall: (stall: EventLoopStall) => void
  private timer: NodeJS.Timeout | null = null
  private last = 0

  constructor(options: BlockingDetectorOptions) {
    this.thresholdMs = parseDuration(options.threshold ?? DEFAULT_BLOCKING_THRESHOLD_MS, 'blocking.threshold')
    this.intervalMs = parseDuration(options.interval ?? DEFAULT_BLOCKING_INTERVAL_MS, 'blocking.interval')
    if (this.intervalMs < 1) throw new RangeError('blocking.interval must be at least 1 ms')
    this.onStall = options.onStall
  }

  start(): void {
    if (this.timer !== null) return
    watchEndedRequests(true)
    forgetEndedRequests()
    this.last = performance.now()
    this.timer = setInterval(() => this.tick(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer === null) return
    clearInterval(this.timer)
    this.timer = null
    watchEndedRequests(false)
  }

  private tick(): void {
    const now = performance.now()
    const delayMs = now - this.last - this.intervalMs
    this.last = now
    if (delayMs <= this.thresholdMs) {
      forgetEndedRequests()
      return
    }
    const routes = [...new Set(takeRecentRoutes())]
    this.onStall({ delayMs, routes })
  }
}
