/**
 * `/metrics` across the workers of `hotpath serve --workers N`. Each worker keeps its own
 * prom-client registry and a scrape lands on whichever worker accepts the connection, so alone a
 * worker's counters would jump between processes from one scrape to the next. The worker that
 * answers asks the primary, and the primary merges every worker's registry with prom-client's
 * `AggregatorRegistry` (counters and histograms summed, gauges summed by default).
 */
import cluster, { type Worker } from 'node:cluster'
import { randomUUID } from 'node:crypto'
import { AggregatorRegistry, type Registry } from 'prom-client'
import { HotpathError } from '../../../src/errors.js'

const REQUEST = 'hotpath:metrics'
const RESPONSE = 'hotpath:metrics:result'
/**
 * How long a worker waits for the primary's merged metrics before the scrape fails with 503 (past
 * prom-client's own 5 s, so its error arrives first).
 */
export const CLUSTER_METRICS_TIMEOUT_MS = 6_000

interface MetricsRequest {
  cmd: typeof REQUEST
  id: string
}
interface MetricsResponse {
  cmd: typeof RESPONSE
  id: string
  text?: string
  error?: string
}

/** The merged metrics could not be collected from the workers. */
export class ClusterMetricsError extends HotpathError {
  constructor(reason: string) {
    super('E_METRICS_UNAVAILABLE', `Metrics of the cluster workers could not be collected: ${reason}`, {
      statusCode: 503,
    })
  }
}

/**
 * Primary side: answer workers' requests for the cluster-wide metrics. Call once in the primary.
 *
 * @returns a function that stops answering
 */
export function serveClusterMetrics(): () => void {
  const aggregator = new AggregatorRegistry()
  const onMessage = (worker: Worker, message: unknown) => {
    if (!isRequest(message)) return
    const reply = (response: Omit<MetricsResponse, 'cmd' | 'id'>) => {
      if (worker.isConnected()) worker.send({ cmd: RESPONSE, id: message.id, ...response })
    }
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (error: unknown) => reply({ error: error instanceof Error ? error.message : String(error) }),
    )
  }
  cluster.on('message', onMessage)
  return () => cluster.off('message', onMessage)
}

/**
 * Worker side: make `registry` visible to the primary's aggregation and return the metrics source
 * for the metrics plugin (the cluster-wide exposition text).
 */
export function workerMetricsSource(registry: Registry): () => Promise<string> {
  // Constructing one is what makes prom-client answer the primary's requests in this worker.
  new AggregatorRegistry()
  AggregatorRegistry.setRegistries([registry])
  const waiting = new Map<string, { resolve: (text: string) => void; reject: (error: Error) => void }>()
  process.on('message', (message: unknown) => {
    if (!isResponse(message)) return
    const pending = waiting.get(message.id)
    if (!pending) return
    waiting.delete(message.id)
    if (message.text !== undefined) pending.resolve(message.text)
    else pending.reject(new ClusterMetricsError(message.error ?? 'no answer'))
  })
  return () =>
    new Promise<string>((resolve, reject) => {
      if (!process.send || !process.connected) {
        reject(new ClusterMetricsError('not connected to the primary'))
        return
      }
      const id = randomUUID()
      const timer = setTimeout(() => {
        waiting.delete(id)
        reject(new ClusterMetricsError(`no answer within ${CLUSTER_METRICS_TIMEOUT_MS} ms`))
      }, CLUSTER_METRICS_TIMEOUT_MS)
      timer.unref()
      waiting.set(id, {
        resolve: (text) => {
          clearTimeout(timer)
          resolve(text)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      const request: MetricsRequest = { cmd: REQUEST, id }
      process.send(request)
    })
}

function isRequest(message: unknown): message is MetricsRequest {
  return typeof message === 'object' && message !== null && (message as MetricsRequest).cmd === REQUEST
}

function isResponse(message: unknown): message is MetricsResponse {
  return typeof message === 'object' && message !== null && (message as MetricsResponse).cmd === RESPONSE
}
