import type { Metric, Registry } from 'prom-client'

interface Series {
  readonly labels: { method: string; route: string; status_code: number }
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly counts: Float64Array
  sum: number
  count: number
}

interface MetricValue {
  labels: Record<string, string | number>
  value: number
  metricName: string
}

/**
 * The HTTP duration histogram (`method`, `route`, `status_code`), registered in a prom-client
 * {@link Registry} and formatted by it, with an observe path that costs three Map lookups:
 * prom-client's own `Histogram.observe` validates and hashes the label object on every call, which
 * on a cache hit is a measurable share of the request.
 */
export class HttpHistogram {
  readonly name: string
  readonly help: string
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly bounds: readonly number[]
  private readonly byRoute = new Map<string, Map<number, Map<string, Series>>>()

  constructor(options: { name: string; help: string; buckets: readonly number[]; registry: Registry }) {
    this.name = options.name
    this.help = options.help
    this.bounds = [...options.buckets].sort((a, b) => a - b)
    // prom-client accepts any object with its metric shape (name, help, type, get, reset).
    options.registry.registerMetric(this as unknown as Metric)
  }

  observe(method: string, route: string, statusCode: number, seconds: number): void {
    let byStatus = this.byRoute.get(route)
    if (byStatus === undefined) this.byRoute.set(route, (byStatus = new Map()))
    let byMethod = byStatus.get(statusCode)
    if (byMethod === undefined) byStatus.set(statusCode, (byMethod = new Map()))
    let series = byMethod.get(method)
    if (series === undefined) {
      series = {
        labels: { method, route, status_code: statusCode },
        counts: new Float64Array(this.bounds.length + 1),
        sum: 0,
        count: 0,
      }
      byMethod.set(method, series)
    }
    let bucket = 0
    while (bucket < this.bounds.length && seconds > this.bounds[bucket]!) bucket++
    series.counts[bucket]!++
    series.sum += seconds
    series.count++
  }

  /** prom-client's metric interface: the current values. */
  async get(): Promise<{
    name: string
    help: string
    type: string
    aggregator: string
    values: MetricValue[]
  }> {
    const values: MetricValue[] = []
    for (const byStatus of this.byRoute.values()) {
      for (const byMethod of byStatus.values()) {
        for (const series of byMethod.values()) {
          let cumulative = 0
          for (let i = 0; i < this.bounds.length; i++) {
            cumulative += series.counts[i]!
            values.push({
              labels: { ...series.labels, le: this.bounds[i]! },
              value: cumulative,
              metricName: `${this.name}_bucket`,
            })
          }
          values.push({
            labels: { ...series.labels, le: '+Inf' },
            value: series.count,
            metricName: `${this.name}_bucket`,
          })
          values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` })
          values.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` })
        }
      }
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  /** prom-client's metric interface: forget every series. */
  reset(): void {
    this.byRoute.clear()
  }
}
