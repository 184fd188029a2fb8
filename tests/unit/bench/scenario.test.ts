import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadScenarioFile, parseIdList, resolveScenario, scenarioFromUrl } from '../../../src/bench/index.js'
import { createRequestPlan } from '../../../src/bench/request-plan.js'
import { BenchScenarioError } from '../../../src/errors.js'

function scenarioError(input: unknown): BenchScenarioError {
  try {
    resolveScenario(input)
  } catch (error) {
    if (error instanceof BenchScenarioError) return error
    throw error
  }
  throw new Error('expected a BenchScenarioError')
}

describe('scenario validation', () => {
  it('applies defaults and expands id ranges', () => {
    const scenario = resolveScenario({
      target: 'http://127.0.0.1:3000/ignored',
      requests: [
        { path: '/items/{id}' },
        { method: 'put', path: '/items/{id}', weight: 2, body: { name: 'x' } },
      ],
      params: { id: { values: '1..5', dist: 'zipf:1.2' } },
    })
    expect(scenario.target).toBe('http://127.0.0.1:3000')
    expect(scenario.seed).toBe(42)
    expect(scenario.params.id?.values).toEqual(['1', '2', '3', '4', '5'])
    expect(scenario.params.id?.dist).toEqual({ kind: 'zipf', s: 1.2 })
    expect(scenario.requests[0]).toMatchObject({
      method: 'GET',
      weight: 1,
      name: 'GET /items/{id}',
      replayEtag: false,
    })
    expect(scenario.requests[1]).toMatchObject({ method: 'PUT', weight: 2, body: '{"name":"x"}' })
    expect(scenario.requests[1]?.headers['content-type']).toBe('application/json')
    expect(Object.isFrozen(scenario)).toBe(true)
  })

  it.each([
    [null, '(root)', 'requests'],
    [{ requests: [] }, 'requests', 'non-empty'],
    [{ requests: [{ path: 'items' }] }, 'requests[0].path', 'starting with "/"'],
    [{ requests: [{ path: '/a', weight: -1 }] }, 'requests[0].weight', '> 0'],
    [{ requests: [{ path: '/a', method: 'BREW' }] }, 'requests[0].method', 'GET'],
    [{ requests: [{ path: '/a', headers: { 'x-a': true } }] }, 'requests[0].headers.x-a', 'a string'],
    [{ requests: [{ path: '/a', colour: 'red' }] }, 'requests[0].colour', 'no such field'],
    [{ requests: [{ path: '/items/{id}' }] }, 'requests[0]', 'params.id'],
    [
      { requests: [{ path: '/a' }], params: { id: { values: '9..1' } } },
      'params.id.values',
      'end is >= its start',
    ],
    [
      { requests: [{ path: '/a' }], params: { id: { values: '1..9', dist: 'pareto' } } },
      'params.id.dist',
      'zipf',
    ],
    [{ requests: [{ path: '/a' }], target: 'ftp://x' }, 'target', 'http'],
    [{ requests: [{ path: '/a' }], seed: 1.5 }, 'seed', 'integer'],
    [{ requests: [{ path: '/a' }], reqests: [] }, 'reqests', 'no such field'],
  ])('rejects %j at %s', (input, where, expected) => {
    const error = scenarioError(input)
    expect(error.code).toBe('E_BENCH_SCENARIO_INVALID')
    expect(error.path).toBe(where)
    expect(error.message).toContain(`"${where}"`)
    expect(error.message).toContain(expected)
  })

  it('parses id lists', () => {
    expect(parseIdList('3..5')).toEqual(['3', '4', '5'])
    expect(parseIdList('a, b,c')).toEqual(['a', 'b', 'c'])
    expect(() => parseIdList(' , ')).toThrow(BenchScenarioError)
  })

  it('builds a scenario from a URL and flags, and insists on --ids for placeholders', () => {
    const scenario = scenarioFromUrl('http://127.0.0.1:3000/items/{id}?full=1', {
      ids: '1..10',
      dist: 'hotset',
      headers: { accept: 'application/json' },
      replayEtag: true,
    })
    expect(scenario.target).toBe('http://127.0.0.1:3000')
    expect(scenario.requests[0]).toMatchObject({ path: '/items/{id}?full=1', replayEtag: true })
    expect(scenario.requests[0]?.headers).toEqual({ accept: 'application/json' })
    expect(scenario.params.id?.dist.kind).toBe('hotset')
    expect(() => scenarioFromUrl('http://127.0.0.1:3000/items/{id}')).toThrow(/--ids/)
    expect(() => scenarioFromUrl('not a url')).toThrow(BenchScenarioError)
  })
})

describe('request plan', () => {
  it('follows the weighted mix and fills placeholders consistently in path and body', () => {
    const plan = createRequestPlan(
      resolveScenario({
        requests: [
          { path: '/items/{id}', weight: 9 },
          { method: 'PUT', path: '/items/{id}', weight: 1, body: '{"id":"{id}"}' },
        ],
        params: { id: { values: '1..50' } },
      }),
    )
    let puts = 0
    for (let i = 0; i < 20_000; i++) {
      const request = plan.next()
      expect(request.path).toMatch(/^\/items\/([1-9]|[1-4]\d|50)$/)
      if (request.method === 'PUT') {
        puts++
        expect(request.body).toBe(`{"id":"${request.path.slice('/items/'.length)}"}`)
      }
    }
    expect(puts / 20_000).toBeCloseTo(0.1, 1)
  })

  it('is deterministic for a seed and URL-encodes path values', () => {
    const scenario = resolveScenario({
      requests: [{ path: '/search/{q}' }],
      params: { q: { values: ['a b', 'c/d', 'é'] } },
    })
    const a = createRequestPlan(scenario)
    const b = createRequestPlan(scenario)
    const paths = Array.from({ length: 50 }, () => a.next().path)
    expect(paths).toEqual(Array.from({ length: 50 }, () => b.next().path))
    expect(new Set(paths)).toEqual(new Set(['/search/a%20b', '/search/c%2Fd', '/search/%C3%A9']))
  })
})

describe('loadScenarioFile', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hotpath-bench-scenario-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('loads a JSON scenario', async () => {
    const file = path.join(dir, 'mix.json')
    await writeFile(
      file,
      JSON.stringify({
        requests: [{ path: '/items/{id}', replayEtag: true }],
        params: { id: { values: '1..3' } },
      }),
    )
    const scenario = await loadScenarioFile(file)
    expect(scenario.requests[0]?.replayEtag).toBe(true)
    expect(scenario.params.id?.values).toEqual(['1', '2', '3'])
  })

  it('loads a TS scenario through tsx (default export)', async () => {
    const file = path.join(dir, 'mix.ts')
    await writeFile(
      file,
      "const weight: number = 3\nexport default { requests: [{ path: '/health', weight }], seed: 7 }\n",
    )
    const scenario = await loadScenarioFile(file)
    expect(scenario.requests[0]?.weight).toBe(3)
    expect(scenario.seed).toBe(7)
  })

  it('reports malformed JSON, invalid content and unknown extensions with the file named', async () => {
    const broken = path.join(dir, 'broken.json')
    await writeFile(broken, '{ "requests": [ ')
    await expect(loadScenarioFile(broken)).rejects.toThrow(/valid JSON/)
    const invalid = path.join(dir, 'invalid.json')
    await writeFile(invalid, JSON.stringify({ requests: [{ path: '/a', weight: 0 }] }))
    await expect(loadScenarioFile(invalid)).rejects.toThrow(/requests\[0\]\.weight/)
    await expect(loadScenarioFile(path.join(dir, 'mix.yaml'))).rejects.toThrow(/\.json, \.ts or \.js/)
    await expect(loadScenarioFile(path.join(dir, 'missing.json'))).rejects.toThrow(/readable/)
  })
})

describe('example scenarios shipped with the bench', () => {
  it.each(['bench/lib/scenarios/items-read-heavy.json', 'bench/lib/scenarios/items-read-write.ts'])(
    '%s is valid',
    async (file) => {
      const scenario = await loadScenarioFile(file)
      expect(scenario.requests.length).toBeGreaterThan(1)
      const plan = createRequestPlan(scenario)
      for (let i = 0; i < 100; i++) expect(plan.next().path).toMatch(/^\/items(\/\d+|\?page=\d+&size=20)$/)
    },
  )
})
