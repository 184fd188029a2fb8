import { describe, expect, it } from 'vitest'
import {
  createWrkScript,
  luaString,
  parseWrkOutput,
  WRK_JSON_MARKER,
} from '../../../src/bench/engines/wrk-script.js'
import type { PlannedRequest } from '../../../src/bench/request-plan.js'

const get = (path: string, replayEtag = false): PlannedRequest => ({
  method: 'GET',
  path,
  headers: {},
  body: null,
  replayEtag,
  requestIndex: 0,
})

describe('wrk Lua script', () => {
  it('escapes Lua strings byte by byte', () => {
    expect(luaString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\10d"')
    expect(luaString('é')).toBe('"\\195\\169"')
  })

  it('stores each distinct request once and the sampled order as indexes', () => {
    const script = createWrkScript({
      sequence: [get('/items/1'), get('/items/2'), get('/items/1'), get('/items/3', true)],
      host: '127.0.0.1:3000',
      pipelining: 1,
      serverFacts: false,
      etags: new Map([['/items/3', '"v3"']]),
    })
    expect(script.match(/"\/items\/1"/g)).toHaveLength(1)
    expect(script).toContain('1,2,1,3')
    expect(script).toContain('["If-None-Match"]="\\"v3\\""')
    expect(script).toContain('["Host"]="127.0.0.1:3000"')
    expect(script).not.toContain('function response(')
    expect(script).toContain('function done(')
  })

  it('defines response() only when server facts are wanted, and pipelines N requests per call', () => {
    const script = createWrkScript({
      sequence: [get('/a')],
      host: 'h',
      pipelining: 4,
      serverFacts: true,
      etags: new Map(),
    })
    expect(script).toContain('function response(status, headers, body)')
    expect(script).toContain('local pipeline = 4')
  })

  it('parses the JSON line printed by done() and ignores the rest of the output', () => {
    const summary = {
      duration_us: 1_000_000,
      requests: 10,
      bytes: 1000,
      errors: { connect: 0, read: 1, write: 0, status: 2, timeout: 0 },
      latency_us: { mean: 100, stdev: 1, max: 900, percentiles: { '50': 90, '99': 800 } },
      statuses: { '200': 8, '500': 2 },
      xcache: {},
      timing_sum: {},
      timing_count: {},
    }
    const stdout = `Running 1s test @ http://127.0.0.1/\n${WRK_JSON_MARKER}${JSON.stringify(summary)}\nRequests/sec: 10\n`
    expect(parseWrkOutput(stdout)).toEqual(summary)
    expect(parseWrkOutput('Running 1s test\n')).toBeNull()
    expect(parseWrkOutput(`${WRK_JSON_MARKER}{broken`)).toBeNull()
  })
})
