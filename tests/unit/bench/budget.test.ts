import { describe, expect, it } from 'vitest'
import { DEFAULT_BUDGET, evaluateBudget, parseBudget } from '../../../src/bench/index.js'
import { BenchBudgetError } from '../../../src/errors.js'
import { makeResult } from './make-result.js'

describe('parseBudget', () => {
  it('reads the default budget: the seed chapter table', () => {
    expect(
      parseBudget(DEFAULT_BUDGET).map(({ metric, operator, threshold }) => [metric, operator, threshold]),
    ).toEqual([
      ['rps', '>', 1000],
      ['avg', '<', 100],
      ['p99', '<', 500],
      ['errors', '<', 0.001],
    ])
    expect(parseBudget()).toEqual(parseBudget(DEFAULT_BUDGET))
  })

  it('converts units: us/ms/s for latencies, % or fraction for ratios, k for rps', () => {
    const checks = parseBudget('rps>=2.5k, p50<=500us, p999<1s, max<=250, errors<=0.5%, hit>=0.8, p99.9<2s')
    expect(checks.map((c) => [c.metric, c.operator, c.threshold])).toEqual([
      ['rps', '>=', 2500],
      ['p50', '<=', 0.5],
      ['p999', '<', 1000],
      ['max', '<=', 250],
      ['errors', '<=', 0.005],
      ['hit', '>=', 0.8],
      ['p999', '<', 2000],
    ])
  })

  it.each([
    ['', 'empty'],
    ['rps>>1000', 'cannot read'],
    ['latency_p42<10ms', 'unknown metric'],
    ['p99<=5 parsecs', 'cannot read'],
    ['errors<=150%', 'at most 100%'],
    ['p99<=5%', 'takes us, ms or s'],
    ['rps>=10ms', 'plain number'],
  ])('rejects %j with a message that says why and shows the syntax', (text, reason) => {
    const error = (() => {
      try {
        parseBudget(text)
      } catch (caught) {
        return caught
      }
      return null
    })()
    expect(error).toBeInstanceOf(BenchBudgetError)
    expect((error as BenchBudgetError).code).toBe('E_BENCH_BUDGET_INVALID')
    expect((error as Error).message).toContain(reason)
    expect((error as Error).message).toContain('rps>=1000')
  })
})

describe('evaluateBudget', () => {
  it('passes a result within the default budget', () => {
    const evaluation = evaluateBudget(makeResult({ rps: 5000, avg: 8, p99: 40, errors: 0 }), parseBudget())
    expect(evaluation.ok).toBe(true)
    expect(evaluation.violations).toEqual([])
    expect(evaluation.checks).toHaveLength(4)
  })

  it('names every violated check with the actual value', () => {
    const evaluation = evaluateBudget(
      makeResult({ rps: 800, avg: 8, p99: 612, errors: 0.002 }),
      parseBudget(),
    )
    expect(evaluation.ok).toBe(false)
    expect(evaluation.violations.map((v) => v.metric)).toEqual(['rps', 'p99', 'errors'])
    expect(evaluation.violations[1]?.line).toBe('p99 612.0ms violates p99<500ms')
    expect(evaluation.violations[2]?.actual).toBeCloseTo(0.002)
  })

  it('treats boundaries by the operator written', () => {
    const result = makeResult({ rps: 1000 })
    expect(evaluateBudget(result, parseBudget('rps>=1000')).ok).toBe(true)
    expect(evaluateBudget(result, parseBudget('rps>1000')).ok).toBe(false)
  })

  it('fails a check whose metric the run cannot tell (no X-Cache header)', () => {
    const evaluation = evaluateBudget(makeResult({ hitRatio: null }), parseBudget('hit>=50%'))
    expect(evaluation.ok).toBe(false)
    expect(evaluation.violations[0]?.line).toContain('unknown')
  })
})
