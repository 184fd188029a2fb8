import { createIndexSampler, type IndexSampler } from './key-distribution.js'
import { createRandom, type Random } from './random.js'
import type { ResolvedScenario, ResolvedScenarioRequest } from './scenario.js'

/** One concrete request drawn from a scenario. */
export interface PlannedRequest {
  method: string
  /** Path with placeholders filled, e.g. `/items/17`. */
  path: string
  headers: Record<string, string>
  body: string | null
  /** Whether the scenario asked for `If-None-Match` replay on this request. */
  replayEtag: boolean
  /** Index of the scenario request it came from. */
  requestIndex: number
}

/** Draws concrete requests from a scenario: weighted mix, then every placeholder from its sampler. */
export interface RequestPlan {
  next(): PlannedRequest
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/**
 * Create a deterministic request plan (same seed, same sequence).
 *
 * @example
 * const plan = createRequestPlan(scenarioFromUrl('http://h/items/{id}', { ids: '1..10' }))
 * plan.next().path // '/items/7'
 */
export function createRequestPlan(scenario: ResolvedScenario, seed = scenario.seed): RequestPlan {
  const random = createRandom(seed)
  const samplers = new Map<string, { values: readonly string[]; sample: IndexSampler }>()
  for (const [name, param] of Object.entries(scenario.params)) {
    samplers.set(name, {
      values: param.values,
      sample: createIndexSampler(param.dist, param.values.length, random),
    })
  }
  const pickRequest = createWeightedPicker(
    scenario.requests.map((request) => request.weight),
    random,
  )
  const fill = (text: string, drawn: Map<string, string>, encode: boolean): string =>
    text.replace(PLACEHOLDER, (whole, name: string) => {
      let value = drawn.get(name)
      if (value === undefined) {
        const sampler = samplers.get(name)
        if (!sampler) return whole
        value = sampler.values[sampler.sample()] as string
        drawn.set(name, value)
      }
      return encode ? encodeURIComponent(value) : value
    })
  return {
    next() {
      const requestIndex = pickRequest()
      const request = scenario.requests[requestIndex] as ResolvedScenarioRequest
      // One draw per placeholder name per request, so `/users/{id}` and a body `{"id": "{id}"}` agree.
      const drawn = new Map<string, string>()
      return {
        method: request.method,
        path: fill(request.path, drawn, true),
        headers: { ...request.headers },
        body: request.body === null ? null : fill(request.body, drawn, false),
        replayEtag: request.replayEtag,
        requestIndex,
      }
    },
  }
}

/** Pick an index with probability proportional to its weight. */
export function createWeightedPicker(weights: readonly number[], random: Random): () => number {
  if (weights.length === 1) return () => 0
  const cumulative: number[] = []
  let total = 0
  for (const weight of weights) {
    total += weight
    cumulative.push(total)
  }
  return () => {
    const target = random() * total
    const index = cumulative.findIndex((bound) => target < bound)
    return index === -1 ? weights.length - 1 : index
  }
}
