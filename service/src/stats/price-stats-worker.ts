import { computePriceStats, type PriceStats, type PriceStatsOptions } from './price-stats.js'

/** A task sent to the pool. */
export interface PriceStatsTask {
  prices: Float64Array
  options: PriceStatsOptions
}

/** Piscina worker: runs {@link computePriceStats} off the main event loop. */
export default function priceStatsWorker(task: PriceStatsTask): PriceStats {
  return computePriceStats(task.prices, task.options)
}
