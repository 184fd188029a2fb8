import { BenchScenarioError } from '../errors.js'
import { DEFAULT_SEED } from './defaults.js'
import { parseKeyDistribution, validateKeyDistribution, type KeyDistribution } from './key-distribution.js'

/** Values of a path placeholder and how they are drawn. */
export interface ParamSpec {
  /** `'1..1000'`, `'a,b,c'` or an explicit list. */
  values: string | (string | number)[]
  /**
   * `'uniform'`, `'zipf[:s]'`, `'hotset[:fraction[:weight]]'` or the object form.
   * @default 'uniform'
   */
  dist?: string | KeyDistribution
}

/** One kind of request in the mix. */
export interface ScenarioRequest {
  /** Label in reports. @default `${method} ${path}` */
  name?: string
  /** @default 'GET' */
  method?: string
  /** Path template such as `/items/{id}`; `{name}` placeholders come from `params`. */
  path: string
  /** Relative share of the mix. @default 1 */
  weight?: number
  headers?: Record<string, string>
  /** Body for writes; placeholders are filled; an object is sent as JSON. */
  body?: string | Record<string, unknown> | unknown[]
  /**
   * Send `If-None-Match` with the ETag an earlier response returned for the same URL (exercises 304).
   * @default false
   */
  replayEtag?: boolean
}

/** A load scenario: a weighted mix of requests against one origin. */
export interface Scenario {
  /** Origin such as `http://127.0.0.1:3000` (a path here is ignored; paths come from requests). */
  target?: string
  requests: ScenarioRequest[]
  /** Placeholder name → values and distribution. */
  params?: Record<string, ParamSpec>
  /** Headers sent with every request. */
  headers?: Record<string, string>
  /** Seed of the samplers. @default 42 */
  seed?: number
}

/** A scenario after validation: every default applied, every list expanded. */
export interface ResolvedScenario {
  readonly target: string | null
  readonly requests: readonly ResolvedScenarioRequest[]
  readonly params: Readonly<Record<string, ResolvedParam>>
  readonly seed: number
}

export interface ResolvedScenarioRequest {
  readonly name: string
  readonly method: string
  readonly path: string
  readonly weight: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | null
  readonly replayEtag: boolean
}

export interface ResolvedParam {
  readonly values: readonly string[]
  readonly dist: KeyDistribution
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g
const RANGE = /^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$/
const MAX_RANGE = 10_000_000

/**
 * Expand `'1..1000'` or `'a,b,c'` into a list of strings.
 *
 * @example
 * parseIdList('1..3') // ['1', '2', '3']
 */
export function parseIdList(text: string, path = 'ids'): string[] {
  const range = RANGE.exec(text)
  if (range) {
    const from = Number(range[1])
    const to = Number(range[2])
    if (to < from)
      throw new BenchScenarioError(path, text, 'a range whose end is >= its start, such as "1..1000"')
    if (to - from + 1 > MAX_RANGE) throw new BenchScenarioError(path, text, `at most ${MAX_RANGE} values`)
    return Array.from({ length: to - from + 1 }, (_, i) => String(from + i))
  }
  const values = text
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value.length > 0)
  if (values.length === 0) throw new BenchScenarioError(path, text, 'a range "1..1000" or a list "a,b,c"')
  return values
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function stringRecord(value: unknown, path: string): Record<string, string> {
  if (value === undefined) return {}
  if (!isRecord(value)) throw new BenchScenarioError(path, value, 'an object of header name → string value')
  const out: Record<string, string> = {}
  for (const [name, headerValue] of Object.entries(value)) {
    if (typeof headerValue !== 'string' && typeof headerValue !== 'number') {
      throw new BenchScenarioError(`${path}.${name}`, headerValue, 'a string')
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw new BenchScenarioError(path, name, 'a valid header name')
    out[name] = String(headerValue)
  }
  return out
}

function resolveParam(value: unknown, path: string): ResolvedParam {
  if (!isRecord(value)) throw new BenchScenarioError(path, value, 'an object { values, dist? }')
  let values: string[]
  if (typeof value.values === 'string') values = parseIdList(value.values, `${path}.values`)
  else if (Array.isArray(value.values) && value.values.length > 0) {
    values = value.values.map((item, i) => {
      if (typeof item !== 'string' && typeof item !== 'number') {
        throw new BenchScenarioError(`${path}.values[${i}]`, item, 'a string or a number')
      }
      return String(item)
    })
  } else throw new BenchScenarioError(`${path}.values`, value.values, 'a range "1..1000" or a non-empty list')
  let dist: KeyDistribution = { kind: 'uniform' }
  try {
    if (typeof value.dist === 'string') dist = parseKeyDistribution(value.dist, `${path}.dist`)
    else if (isRecord(value.dist))
      dist = validateKeyDistribution(value.dist as KeyDistribution, `${path}.dist`)
    else if (value.dist !== undefined) throw new Error('not a string or an object')
  } catch (error) {
    throw new BenchScenarioError(
      `${path}.dist`,
      value.dist,
      "'uniform', 'zipf[:s]' or 'hotset[:fraction[:weight]]'",
      { cause: error },
    )
  }
  if (dist.kind === 'zipf' || dist.kind === 'hotset' || dist.kind === 'uniform') return { values, dist }
  throw new BenchScenarioError(`${path}.dist`, value.dist, "'uniform', 'zipf' or 'hotset'")
}

/**
 * Validate a scenario (from a file or built from flags) and apply defaults. Errors name the
 * offending field, e.g. `Invalid scenario at "requests[1].weight": got -1, expected a number > 0.`
 *
 * @example
 * resolveScenario({
 *   requests: [{ path: '/items/{id}', weight: 9 }, { method: 'PUT', path: '/items/{id}', body: { name: 'x' } }],
 *   params: { id: { values: '1..1000', dist: 'zipf' } },
 * })
 */
export function resolveScenario(input: unknown): ResolvedScenario {
  if (!isRecord(input)) throw new BenchScenarioError('(root)', input, 'an object with a "requests" array')
  const known = new Set(['target', 'requests', 'params', 'headers', 'seed'])
  for (const key of Object.keys(input)) {
    if (!known.has(key))
      throw new BenchScenarioError(key, input[key], `no such field (known: ${[...known].join(', ')})`)
  }
  let target: string | null = null
  if (input.target !== undefined) {
    if (typeof input.target !== 'string')
      throw new BenchScenarioError('target', input.target, 'an http(s) URL')
    target = originOf(input.target, 'target')
  }
  const seed = input.seed ?? DEFAULT_SEED
  if (typeof seed !== 'number' || !Number.isInteger(seed))
    throw new BenchScenarioError('seed', seed, 'an integer')
  if (input.params !== undefined && !isRecord(input.params)) {
    throw new BenchScenarioError('params', input.params, 'an object of placeholder name → { values, dist? }')
  }
  const params: Record<string, ResolvedParam> = {}
  for (const [name, spec] of Object.entries(input.params ?? {}))
    params[name] = resolveParam(spec, `params.${name}`)
  const headers = stringRecord(input.headers, 'headers')
  if (!Array.isArray(input.requests) || input.requests.length === 0) {
    throw new BenchScenarioError(
      'requests',
      input.requests,
      'a non-empty array of { path, method?, weight? }',
    )
  }
  const requests = input.requests.map((request, i) =>
    resolveRequest(request, `requests[${i}]`, params, headers),
  )
  return Object.freeze({ target, requests: Object.freeze(requests), params: Object.freeze(params), seed })
}

function resolveRequest(
  value: unknown,
  path: string,
  params: Record<string, ResolvedParam>,
  sharedHeaders: Record<string, string>,
): ResolvedScenarioRequest {
  if (!isRecord(value)) throw new BenchScenarioError(path, value, 'an object { path, method?, weight? }')
  const known = new Set(['name', 'method', 'path', 'weight', 'headers', 'body', 'replayEtag'])
  for (const key of Object.keys(value)) {
    if (!known.has(key))
      throw new BenchScenarioError(
        `${path}.${key}`,
        value[key],
        `no such field (known: ${[...known].join(', ')})`,
      )
  }
  if (typeof value.path !== 'string' || !value.path.startsWith('/')) {
    throw new BenchScenarioError(
      `${path}.path`,
      value.path,
      'a path starting with "/", such as "/items/{id}"',
    )
  }
  const method = value.method === undefined ? 'GET' : value.method
  if (typeof method !== 'string' || !METHODS.has(method.toUpperCase())) {
    throw new BenchScenarioError(`${path}.method`, value.method, [...METHODS].join(', '))
  }
  const weight = value.weight ?? 1
  if (typeof weight !== 'number' || !(weight > 0) || !Number.isFinite(weight)) {
    throw new BenchScenarioError(`${path}.weight`, value.weight, 'a number > 0')
  }
  let body: string | null = null
  if (typeof value.body === 'string') body = value.body
  else if (value.body !== undefined && value.body !== null) {
    if (typeof value.body !== 'object')
      throw new BenchScenarioError(`${path}.body`, value.body, 'a string or a JSON object')
    body = JSON.stringify(value.body)
  }
  const headers = { ...sharedHeaders, ...stringRecord(value.headers, `${path}.headers`) }
  if (body !== null && typeof value.body === 'object' && !hasHeader(headers, 'content-type')) {
    headers['content-type'] = 'application/json'
  }
  for (const text of [value.path, body ?? '']) {
    for (const match of text.matchAll(PLACEHOLDER)) {
      const name = match[1] as string
      if (!params[name]) {
        throw new BenchScenarioError(
          `${path}`,
          match[0],
          `a placeholder defined in "params" (defined: ${Object.keys(params).join(', ') || 'none'}); add params.${name} or --ids`,
        )
      }
    }
  }
  if (value.replayEtag !== undefined && typeof value.replayEtag !== 'boolean') {
    throw new BenchScenarioError(`${path}.replayEtag`, value.replayEtag, 'true or false')
  }
  const upper = method.toUpperCase()
  if (value.name !== undefined && typeof value.name !== 'string') {
    throw new BenchScenarioError(`${path}.name`, value.name, 'a string')
  }
  return Object.freeze({
    name: value.name ?? `${upper} ${value.path}`,
    method: upper,
    path: value.path,
    weight,
    headers: Object.freeze(headers),
    body,
    replayEtag: value.replayEtag ?? false,
  })
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name)
}

/** The origin (`scheme://host:port`) of a URL, or a scenario error naming `path`. */
export function originOf(url: string, path = 'url'): string {
  let parsed: URL
  try {
    parsed = new URL(url.replace(PLACEHOLDER, '0'))
  } catch (error) {
    throw new BenchScenarioError(path, url, 'an absolute http(s) URL such as "http://127.0.0.1:3000"', {
      cause: error,
    })
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new BenchScenarioError(path, url, 'an http: or https: URL')
  }
  return parsed.origin
}

/** Flags of `hotpath bench` that describe a scenario without a file. */
export interface ScenarioFlags {
  /** Values of `{id}`: `'1..1000'` or `'a,b,c'`. */
  ids?: string
  /** Distribution of `{id}`. @default 'uniform' */
  dist?: string
  /** `GET` unless given. */
  method?: string
  headers?: Record<string, string>
  body?: string
  replayEtag?: boolean
  seed?: number
}

/**
 * Build a one-request scenario from a URL such as `http://127.0.0.1:3000/items/{id}` and flags.
 *
 * @example
 * scenarioFromUrl('http://127.0.0.1:3000/items/{id}', { ids: '1..1000', dist: 'zipf' })
 */
export function scenarioFromUrl(url: string, flags: ScenarioFlags = {}): ResolvedScenario {
  const origin = originOf(url)
  const pathStart = url.indexOf('/', url.indexOf('//') + 2)
  const path = pathStart === -1 ? '/' : url.slice(pathStart)
  const names = new Set(
    [...path.matchAll(PLACEHOLDER), ...(flags.body ?? '').matchAll(PLACEHOLDER)].map((m) => m[1] as string),
  )
  const params: Record<string, ParamSpec> = {}
  for (const name of names) {
    if (flags.ids === undefined) {
      throw new BenchScenarioError(
        'url',
        url,
        `values for {${name}}: pass --ids 1..1000 (or use a scenario file)`,
      )
    }
    params[name] = { values: flags.ids, dist: flags.dist ?? 'uniform' }
  }
  const request: ScenarioRequest = { path }
  if (flags.method !== undefined) request.method = flags.method
  if (flags.headers !== undefined) request.headers = flags.headers
  if (flags.body !== undefined) request.body = flags.body
  if (flags.replayEtag !== undefined) request.replayEtag = flags.replayEtag
  const scenario: Scenario = { target: origin, requests: [request], params }
  if (flags.seed !== undefined) scenario.seed = flags.seed
  return resolveScenario(scenario)
}
