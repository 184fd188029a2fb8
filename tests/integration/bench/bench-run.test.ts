import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  detectWrk,
  resolveScenario,
  runBench,
  runComparison,
  scenarioFromUrl,
  type BenchEngineName,
  type BenchResult,
} from '../../../src/bench/index.js'
import { startItemsServer, type ItemsServer } from './fixtures/items-server.js'

const IN_CI = process.env.CI === 'true' || process.env.CI === '1'
const wrkPath = detectWrk()
if (wrkPath === null && !IN_CI)
  console.warn('\n!!! SKIPPING wrk bench tests: wrk is not installed (apt-get install wrk).\n')
// Under CI wrk must be there (.ci/run installs it): the wrk suite runs and fails loudly without it.
const hasWrk = wrkPath !== null || IN_CI
const engines: BenchEngineName[] = hasWrk ? ['autocannon', 'wrk'] : ['autocannon']
const here = path.dirname(fileURLToPath(import.meta.url))
const cliEntry = path.join(here, 'fixtures', 'bench-cli.ts')

let server: ItemsServer
let dir: string

beforeAll(async () => {
  server = await startItemsServer()
  dir = await mkdtemp(path.join(tmpdir(), 'hotpath-bench-it-'))
})

afterAll(async () => {
  await server.close()
  await rm(dir, { recursive: true, force: true })
})

describe.each(engines)('runBench with %s against a real node:http server', (engine) => {
  let result: BenchResult

  beforeAll(async () => {
    server.seen.clear()
    const url = `${server.url}/items/{id}`
    result = await runBench({
      url,
      engine,
      scenario: scenarioFromUrl(url, { ids: '1..20', dist: 'zipf', replayEtag: true }),
      connections: 4,
      duration: '1s',
      warmup: '1s',
    })
  })

  it('measures requests, latency percentiles and throughput', () => {
    expect(result.engine).toBe(engine)
    expect(result.requests.total).toBeGreaterThan(100)
    expect(result.requests.perSecond).toBeGreaterThan(0)
    const l = result.latency
    expect(l.avg).toBeGreaterThan(0)
    expect(l.p50).toBeLessThanOrEqual(l.p90)
    expect(l.p90).toBeLessThanOrEqual(l.p99)
    expect(l.p99).toBeLessThanOrEqual(l.p999)
    expect(l.p999).toBeLessThanOrEqual(l.max)
    expect(result.throughput.bytes).toBeGreaterThan(0)
    expect(result.errors.total).toBe(0)
  })

  it('replays If-None-Match from earlier responses, so the server answers 304', () => {
    expect(result.statusCodes['304']).toBeGreaterThan(0)
    const conditional = [...server.seen.entries()].filter(([key]) => key.endsWith(' inm'))
    expect(conditional.length).toBeGreaterThan(0)
    // Zipf over 1..20: /items/1 is the most requested path.
    const counts = new Map<string, number>()
    for (const [key, count] of server.seen) {
      const p = key.split(' ')[1] ?? ''
      counts.set(p, (counts.get(p) ?? 0) + count)
    }
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0]
    expect(top).toBe('/items/1')
  })

  it('reads X-Cache (hit ratio by tier) and Server-Timing from responses', () => {
    const s = result.server
    expect(s.cacheResponses).toBe(result.requests.total)
    expect(Object.keys(s.cacheValues).sort()).toEqual(['HIT l1', 'MISS'])
    // Even ids are hits: under zipf(1) over 1..20 that is about 0.39 of the draws.
    expect(s.hitRatio).toBeGreaterThan(0.25)
    expect(s.hitRatio).toBeLessThan(0.55)
    expect(s.hitRatioByTier.l1).toBeCloseTo(s.hitRatio ?? 0, 5)
    expect(s.timing.cache?.avgMs).toBeCloseTo(0.1, 5)
    expect(s.timing.db?.count).toBe(result.requests.total)
  })

  it("measures the load generator's own CPU", () => {
    expect(result.client.cpuMs).toBeGreaterThan(0)
    expect(result.client.usPerRequest).toBeGreaterThan(0)
    expect(result.client.method).toBe(engine === 'wrk' ? '/proc cutime' : 'process.cpuUsage')
  })

  it('counts 4xx responses as errors by kind', async () => {
    const errors = await runBench({
      url: `${server.url}/items/404`,
      engine,
      connections: 2,
      duration: '1s',
      warmup: 0,
    })
    expect(errors.statusCodes['404']).toBe(errors.requests.total)
    expect(errors.errors.http).toBe(errors.requests.total)
    expect(errors.errors.rate).toBe(1)
  })
})

describe.each(engines)('%s: request mix, headers, bodies and pipelining', (engine) => {
  it('sends the weighted mix with headers and templated bodies for writes', async () => {
    server.writes.length = 0
    server.seen.clear()
    const result = await runBench({
      url: server.url,
      engine,
      scenario: resolveScenario({
        requests: [
          { path: '/items/{id}', weight: 3 },
          {
            method: 'PUT',
            path: '/items/{id}',
            weight: 1,
            headers: { 'x-bench': 'yes' },
            body: { id: '{id}', name: 'n' },
          },
        ],
        params: { id: { values: '1..5' } },
      }),
      connections: 2,
      duration: '1s',
      warmup: 0,
    })
    expect(result.statusCodes['204']).toBeGreaterThan(0)
    expect(server.writes.length).toBeGreaterThan(0)
    for (const write of server.writes) {
      expect(write.method).toBe('PUT')
      expect(write.header).toBe('yes')
      expect(JSON.parse(write.body)).toEqual({ id: write.path.slice('/items/'.length), name: 'n' })
    }
    const gets = [...server.seen.entries()]
      .filter(([key]) => key.startsWith('GET '))
      .reduce((n, [, c]) => n + c, 0)
    const puts = result.statusCodes['204'] ?? 0
    // Weights 3:1 → about 25 % writes.
    expect(puts / (gets + puts)).toBeGreaterThan(0.15)
    expect(puts / (gets + puts)).toBeLessThan(0.35)
  })

  it('pipelines several requests per connection', async () => {
    const result = await runBench({
      url: `${server.url}/items/2`,
      engine,
      connections: 2,
      pipelining: 4,
      duration: '1s',
      warmup: 0,
    })
    expect(result.options.pipelining).toBe(4)
    expect(result.requests.total).toBeGreaterThan(0)
    expect(result.errors.total).toBe(0)
  })
})

describe('rate limit (autocannon)', () => {
  it('keeps the overall rate under the limit', async () => {
    const result = await runBench({
      url: `${server.url}/items/2`,
      connections: 2,
      rate: 50,
      duration: '1s',
      warmup: 0,
    })
    expect(result.requests.total).toBeGreaterThan(0)
    // Unlimited, this server answers thousands per second; the limit allows about 50.
    expect(result.requests.total).toBeLessThanOrEqual(100)
  })
})

describe.runIf(hasWrk)('runComparison', () => {
  it('interleaves targets A B A B and reports the ratio per pair', async () => {
    const order: string[] = []
    const comparison = await runComparison({
      targets: [
        { name: 'miss', url: `${server.url}/items/1` },
        { name: 'hit', url: `${server.url}/items/2` },
      ],
      rounds: 2,
      engine: 'wrk',
      connections: 2,
      duration: '1s',
      warmup: 0,
      afterRun: (round, target) => {
        order.push(`${round}:${target.name}`)
      },
    })
    expect(order).toEqual(['0:miss', '0:hit', '1:miss', '1:hit'])
    expect(comparison.runs.map((runs) => runs.length)).toEqual([2, 2])
    expect(comparison.targets.map((t) => t.hitRatio)).toEqual([0, 1])
    const ratio = comparison.ratios[0]!
    expect([ratio.a, ratio.b]).toEqual(['miss', 'hit'])
    expect(ratio.rps.samples).toBe(2)
    expect(ratio.rps.median).toBeGreaterThan(0)
  })
})

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', cliEntry, 'bench', ...args],
      { env: { ...process.env, FORCE_COLOR: '0' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

describe('hotpath bench CLI', () => {
  it('prints the table, writes JSON and HTML, and exits 0 when the budget is met', async () => {
    const json = path.join(dir, 'run.json')
    const html = path.join(dir, 'run.html')
    const run = await runCli([
      `${server.url}/items/{id}`,
      '--ids',
      '1..50',
      '--dist',
      'hotset:0.1:0.9',
      '-c',
      '4',
      '-d',
      '1s',
      '-w',
      '0',
      '--budget',
      'rps>=1,p99<=5s,errors<=1%',
      '--json',
      json,
      '--html',
      html,
    ])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('req/s')
    expect(run.stdout).toContain('budget    met')
    const saved = JSON.parse(await readFile(json, 'utf8')) as BenchResult
    expect(saved.kind).toBe('hotpath-bench-result')
    expect((saved as BenchResult & { budget: { ok: boolean } }).budget.ok).toBe(true)
    expect(saved.requests.total).toBeGreaterThan(0)
    const page = await readFile(html, 'utf8')
    expect(page).toContain('<svg class="chart latency-chart"')
    expect(page).toContain(Math.round(saved.requests.perSecond).toLocaleString('en-US'))
  })

  it('exits 1 with a clear line when the budget is violated', async () => {
    const run = await runCli([`${server.url}/items/404`, '-c', '2', '-d', '1s', '-w', '0'])
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/BUDGET VIOLATED: errors 100\.00% violates errors<0\.1%/)
  })

  it('exits 2 on invalid input, naming the problem', async () => {
    const badBudget = await runCli([`${server.url}/items/1`, '--budget', 'p99<=fast'])
    expect(badBudget.code).toBe(2)
    expect(badBudget.stderr).toContain('Invalid budget')
    const missingIds = await runCli([`${server.url}/items/{id}`])
    expect(missingIds.code).toBe(2)
    expect(missingIds.stderr).toContain('--ids')
  })

  it('exits 3 when nothing answers at the target', async () => {
    const run = await runCli(['http://127.0.0.1:1/items/1', '-c', '1', '-d', '1s', '-w', '0'])
    expect(run.code).toBe(3)
    expect(run.stderr).toContain('no response from http://127.0.0.1:1/items/1')
  })

  it('compares saved runs', async () => {
    const first = path.join(dir, 'first.json')
    await runCli([
      `first=${server.url}/items/1`,
      '-c',
      '2',
      '-d',
      '1s',
      '-w',
      '0',
      '--no-budget',
      '--json',
      first,
    ])
    const second = path.join(dir, 'second.json')
    await runCli([
      `second=${server.url}/items/2`,
      '-c',
      '2',
      '-d',
      '1s',
      '-w',
      '0',
      '--no-budget',
      '--json',
      second,
    ])
    const run = await runCli(['compare', first, second])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('second / first')
  })
})
