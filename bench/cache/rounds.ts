/**
 * Interleaved rounds on tinybench: every round runs every task once (in a rotated order), so that
 * machine noise lands on all of them; results are medians and spreads (min-max) of ops/s.
 */
import { Bench } from 'tinybench'

export type TaskFn = () => unknown

export interface RoundOptions {
  rounds: number
  timeMs: number
}

/** `--quick`: 2 rounds x 100 ms; default 5 x 500 ms; `--rounds=N` overrides the number of rounds. */
export function roundOptions(argv: readonly string[]): RoundOptions {
  const options = argv.includes('--quick') ? { rounds: 2, timeMs: 100 } : { rounds: 5, timeMs: 500 }
  const rounds = Number(argv.find((arg) => arg.startsWith('--rounds='))?.slice('--rounds='.length))
  if (Number.isInteger(rounds) && rounds > 0) options.rounds = rounds
  return options
}

export async function runRounds(
  tasks: Record<string, TaskFn>,
  options: RoundOptions,
): Promise<Map<string, number[]>> {
  const names = Object.keys(tasks)
  const samples = new Map<string, number[]>(names.map((name) => [name, []]))
  for (let round = 0; round < options.rounds; round++) {
    const bench = new Bench({ time: options.timeMs, warmupTime: Math.min(100, options.timeMs / 2) })
    const order = names.map((_, i) => names[(i + round) % names.length] as string)
    for (const name of order) bench.add(name, tasks[name] as TaskFn)
    await bench.run()
    for (const task of bench.tasks) {
      const result = task.result as { throughput?: { mean: number } } | undefined
      samples.get(task.name)?.push(result?.throughput?.mean ?? 0)
    }
  }
  return samples
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

export function formatOps(value: number): string {
  return value >= 1e6
    ? `${(value / 1e6).toFixed(2)}M`
    : value >= 1e3
      ? `${(value / 1e3).toFixed(1)}k`
      : value.toFixed(0)
}

/** A Markdown table: task, median ops/s, spread, and the ratio to a baseline task. */
export function table(samples: Map<string, number[]>, baseline?: string): string {
  const base = baseline === undefined ? undefined : median(samples.get(baseline) ?? [0])
  const lines = ['| task | median ops/s | spread (min-max) | vs baseline |', '|---|---:|---:|---:|']
  for (const [name, values] of samples) {
    if (values.length === 0) continue
    const m = median(values)
    const spread = `${formatOps(Math.min(...values))}-${formatOps(Math.max(...values))}`
    const ratio = base === undefined || base === 0 ? '' : `${(m / base).toFixed(2)}x`
    lines.push(`| ${name} | ${formatOps(m)} | ${spread} | ${ratio} |`)
  }
  return lines.join('\n')
}

/** Median over rounds of the per-round ratio a/b (robust to drift between rounds). */
export function ratio(samples: Map<string, number[]>, a: string, b: string): number {
  const av = samples.get(a) ?? []
  const bv = samples.get(b) ?? []
  const per = av
    .map((value, i) => value / ((bv[i] as number) || Number.NaN))
    .filter((r) => Number.isFinite(r))
  return per.length === 0 ? Number.NaN : median(per)
}
