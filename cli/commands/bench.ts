import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { type Command, InvalidArgumentError } from 'commander'
import cliProgress from 'cli-progress'
import { HotpathError } from '../../src/errors.js'
import {
  comparisonFromRuns,
  DEFAULT_BUDGET,
  evaluateBudget,
  formatComparison,
  formatResult,
  groupsFromSaved,
  loadScenarioFile,
  parseBudget,
  renderHtmlReport,
  runBench,
  runComparison,
  scenarioFromUrl,
  type BenchPhase,
  type BenchResult,
  type BudgetCheck,
  type BudgetEvaluation,
  type Comparison,
  type ResolvedScenario,
} from '../../src/bench/index.js'

/** Exit codes of `hotpath bench`. */
export const BENCH_EXIT = { ok: 0, budgetViolated: 1, invalidInput: 2, runFailed: 3 } as const

/** Flags of `hotpath bench`, as commander parses them. */
export interface BenchFlags {
  connections?: number
  duration?: string
  warmup?: string
  rate?: number
  pipelining?: number
  timeout?: string
  engine?: string
  threads?: number
  ids?: string
  dist?: string
  method?: string
  header?: string[]
  body?: string
  replayEtag?: boolean
  scenario?: string
  seed?: number
  rounds?: number
  budget: string | false
  json?: string
  html?: string
  progress: boolean
  serverFacts: boolean
}

/** Where the command writes; tests pass their own. */
export interface BenchIo {
  out: (text: string) => void
  err: (text: string) => void
  /** Draw a progress bar on stderr. */
  progress: boolean
}

const defaultIo = (): BenchIo => ({
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  progress: process.stderr.isTTY === true,
})

function integer(min: number) {
  return (value: string): number => {
    const parsed = Number(value)
    if (!/^\d+$/.test(value) || parsed < min)
      throw new InvalidArgumentError(`expected an integer >= ${min}, got "${value}".`)
    return parsed
  }
}

function positiveNumber(value: string): number {
  const parsed = Number(value)
  if (!(parsed > 0) || !Number.isFinite(parsed))
    throw new InvalidArgumentError(`expected a number > 0, got "${value}".`)
  return parsed
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** Parse `-H "name: value"` flags. */
export function parseHeaderFlags(values: readonly string[] = []): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const value of values) {
    const colon = value.indexOf(':')
    if (colon <= 0) throw new InvalidArgumentError(`expected a header "name: value", got "${value}".`)
    headers[value.slice(0, colon).trim()] = value.slice(colon + 1).trim()
  }
  return headers
}

/** Split `name=url` (or a bare URL) into a target. */
export function parseTarget(text: string): { name: string; url: string } {
  const match = /^([A-Za-z0-9_.:-]+)=(https?:\/\/.+)$/.exec(text)
  return match ? { name: match[1] as string, url: match[2] as string } : { name: text, url: text }
}

/**
 * `hotpath bench [targets...]` and `hotpath bench compare <files...>`.
 *
 * Exit codes: 0 budget met, 1 budget violated, 2 invalid input (flags, scenario, budget),
 * 3 the run itself failed (target unreachable, engine missing).
 */
export function registerBenchCommand(program: Command): void {
  const bench = program
    .command('bench')
    .description(
      'Load an HTTP API (autocannon or wrk), report latency/throughput/errors/cache hits, check a budget; ' +
        'several targets are compared in interleaved rounds.',
    )
    .argument('[targets...]', 'URL such as http://127.0.0.1:3000/items/{id}, or name=URL; several to compare')
    .option('-c, --connections <n>', 'concurrent connections (default 50)', integer(1))
    .option('-d, --duration <duration>', "measured duration, e.g. '10s' (default 10s)")
    .option('-w, --warmup <duration>', "warm-up, not counted; '0' to skip (default 2s)")
    .option('-r, --rate <rps>', 'overall request rate limit (autocannon only)', positiveNumber)
    .option('-p, --pipelining <n>', 'requests in flight per connection (default 1)', integer(1))
    .option('--timeout <duration>', 'per-request timeout (default 10s)')
    .option('-e, --engine <engine>', "'autocannon' (default) or 'wrk'")
    .option('-t, --threads <n>', 'wrk threads (default 1)', integer(1))
    .option('--ids <range>', "values of {id} in the URL: '1..1000' or 'a,b,c'")
    .option(
      '--dist <dist>',
      "key distribution: 'uniform', 'zipf[:s]', 'hotset[:fraction[:weight]]' (default uniform)",
    )
    .option('-m, --method <method>', 'HTTP method (default GET)')
    .option('-H, --header <header>', "request header 'name: value' (repeatable)", collect)
    .option('-b, --body <body>', "request body, or '@file' to read it from a file")
    .option('--replay-etag', 'send If-None-Match with the ETag seen earlier for the same URL (exercises 304)')
    .option('-s, --scenario <file>', 'scenario file (.json, or .ts via tsx) with a weighted request mix')
    .option('--seed <n>', 'seed of the key samplers (default 42)', integer(0))
    .option('--rounds <n>', 'interleaved rounds when comparing several targets (default 5)', integer(1))
    .option(
      '--budget <checks>',
      `budget, e.g. "rps>=1000,p99<=500ms,errors<=0.1%" (default "${DEFAULT_BUDGET}")`,
    )
    .option('--no-budget', 'do not check a budget')
    .option('--json <file>', 'write the result as JSON')
    .option('--html <file>', 'write a self-contained HTML report with charts')
    .option('--no-progress', 'do not draw a progress bar')
    .option('--no-server-facts', 'do not read X-Cache / Server-Timing from responses (saves client CPU)')
    .addHelpText(
      'after',
      '\nExit codes: 0 budget met, 1 budget violated, 2 invalid input, 3 the run failed (nothing answered).\n' +
        'Example: hotpath bench http://127.0.0.1:3000/items/{id} --ids 1..1000 --dist zipf -c 50 -d 10s',
    )
    .action(async (targets: string[], flags: BenchFlags) => {
      process.exitCode = await benchCommand(
        targets,
        { ...flags, budget: flags.budget ?? DEFAULT_BUDGET },
        defaultIo(),
      )
    })
  bench
    .command('compare')
    .description('Compare saved runs (--json of earlier runs or comparisons): ratios per pair')
    .argument('<files...>', 'JSON reports')
    .option('--json <file>', 'write the comparison as JSON')
    .option('--html <file>', 'write a self-contained HTML report')
    .action(async (files: string[], flags: { json?: string; html?: string }) => {
      process.exitCode = await compareCommand(files, flags, defaultIo())
    })
}

/** `hotpath bench compare`: load saved reports and print ratios. Returns the exit code. */
export async function compareCommand(
  files: string[],
  flags: { json?: string; html?: string },
  io: BenchIo,
): Promise<number> {
  try {
    if (files.length === 0) throw new InvalidArgumentError('give at least one report')
    const saved = await Promise.all(
      files.map(async (file) => ({
        label: path.basename(file, '.json'),
        data: JSON.parse(await readFile(file, 'utf8')) as unknown,
      })),
    )
    const comparison = comparisonFromRuns(groupsFromSaved(saved))
    io.out(formatComparison(comparison))
    await writeOutputs(comparison, flags, `hotpath bench compare ${files.join(' ')}`)
    return BENCH_EXIT.ok
  } catch (error) {
    io.err(`hotpath bench compare: ${(error as Error).message}`)
    return BENCH_EXIT.invalidInput
  }
}

async function writeOutputs(
  data: BenchResult | Comparison,
  flags: { json?: string; html?: string },
  command: string,
  budget?: BudgetEvaluation,
): Promise<void> {
  // The budget verdict rides along in the JSON, so CI can read it without re-evaluating.
  const json = budget ? { ...data, budget } : data
  if (flags.json) await writeFile(flags.json, `${JSON.stringify(json, null, 2)}\n`)
  if (flags.html) {
    await writeFile(flags.html, renderHtmlReport(data, { command, ...(budget ? { budget } : {}) }))
  }
}

async function buildScenario(url: string, flags: BenchFlags): Promise<ResolvedScenario> {
  if (flags.scenario) return loadScenarioFile(flags.scenario)
  let body = flags.body
  if (body?.startsWith('@')) body = await readFile(body.slice(1), 'utf8')
  return scenarioFromUrl(url, {
    ...(flags.ids !== undefined ? { ids: flags.ids } : {}),
    ...(flags.dist !== undefined ? { dist: flags.dist } : {}),
    ...(flags.method !== undefined ? { method: flags.method } : {}),
    ...(flags.header ? { headers: parseHeaderFlags(flags.header) } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(flags.replayEtag ? { replayEtag: true } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
  })
}

function createProgress(io: BenchIo, enabled: boolean) {
  if (!enabled || !io.progress) return { update: () => {}, stop: () => {} }
  const bar = new cliProgress.SingleBar(
    {
      format: '{label} [{bar}] {percentage}% | {responses} responses',
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  )
  let started = false
  let lastLabel = ''
  return {
    update(label: string, phase: BenchPhase, elapsedMs: number, totalMs: number, responses: number) {
      const name = `${label} ${phase}`
      if (!started || name !== lastLabel) {
        if (started) {
          bar.update(bar.getTotal())
          bar.stop()
        }
        bar.start(Math.max(1, Math.round(totalMs)), 0, { label: name, responses: 0 })
        started = true
        lastLabel = name
      }
      // wrk reports nothing until it exits: show the count only when the engine streams it.
      bar.update(Math.round(elapsedMs), {
        responses: responses > 0 ? responses.toLocaleString('en-US') : '…',
      })
    },
    stop() {
      if (started) {
        bar.update(bar.getTotal())
        bar.stop()
      }
      started = false
    },
  }
}

/** `hotpath bench [targets...]`. Returns the exit code. */
export async function benchCommand(targetArgs: string[], flags: BenchFlags, io: BenchIo): Promise<number> {
  let checks: BudgetCheck[] | null
  let targets: { name: string; url: string; scenario: ResolvedScenario }[]
  try {
    checks = flags.budget === false ? null : parseBudget(flags.budget)
    if (flags.engine !== undefined && flags.engine !== 'autocannon' && flags.engine !== 'wrk') {
      throw new InvalidArgumentError(`--engine must be 'autocannon' or 'wrk', got "${flags.engine}".`)
    }
    const parsed = targetArgs.map(parseTarget)
    if (parsed.length === 0) {
      if (!flags.scenario)
        throw new InvalidArgumentError(
          'give a target URL (e.g. http://127.0.0.1:3000/items/{id}) or --scenario',
        )
    }
    targets = []
    for (const target of parsed) targets.push({ ...target, scenario: await buildScenario(target.url, flags) })
    if (targets.length === 0 && flags.scenario) {
      const scenario = await loadScenarioFile(flags.scenario)
      if (scenario.target === null) throw new InvalidArgumentError('the scenario has no "target": pass a URL')
      targets.push({ name: scenario.target, url: scenario.target, scenario })
    }
  } catch (error) {
    if (
      error instanceof HotpathError ||
      error instanceof InvalidArgumentError ||
      error instanceof SyntaxError
    ) {
      io.err(`hotpath bench: ${error.message}`)
      return BENCH_EXIT.invalidInput
    }
    throw error
  }
  const progress = createProgress(io, flags.progress)
  const shared = {
    ...(flags.connections !== undefined ? { connections: flags.connections } : {}),
    ...(flags.duration !== undefined ? { duration: flags.duration } : {}),
    ...(flags.warmup !== undefined ? { warmup: flags.warmup } : {}),
    ...(flags.rate !== undefined ? { rate: flags.rate } : {}),
    ...(flags.pipelining !== undefined ? { pipelining: flags.pipelining } : {}),
    ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
    ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
    ...(flags.engine !== undefined ? { engine: flags.engine as 'autocannon' | 'wrk' } : {}),
    serverFacts: flags.serverFacts,
  }
  const command = ['hotpath bench', ...process.argv.slice(3)].join(' ')
  try {
    if (targets.length === 1) {
      const target = targets[0]!
      const result = await runBench({
        ...shared,
        name: target.name,
        url: target.url,
        scenario: target.scenario,
        onProgress: (phase, elapsed, total, responses) =>
          progress.update(target.name, phase, elapsed, total, responses),
      })
      progress.stop()
      if (result.requests.total === 0) return noResponse(io, result)
      const budget = checks === null ? undefined : evaluateBudget(result, checks)
      io.out(formatResult(result, budget))
      await writeOutputs(result, flags, command, budget)
      return budget && !budget.ok ? BENCH_EXIT.budgetViolated : BENCH_EXIT.ok
    }
    let current = ''
    const comparison = await runComparison({
      ...shared,
      targets,
      ...(flags.rounds !== undefined ? { rounds: flags.rounds } : {}),
      onProgress: (phase, elapsed, total, responses) =>
        progress.update(current, phase, elapsed, total, responses),
      beforeRun: (round, target) => {
        current = `round ${round + 1} ${target.name}`
      },
      afterRun: (round, target, result) => {
        progress.stop()
        io.err(`round ${round + 1}: ${target.name} ${formatRps(result)}`)
      },
    })
    progress.stop()
    const silent = comparison.runs.flat().find((run) => run.requests.total === 0)
    if (silent) return noResponse(io, silent)
    io.out(formatComparison(comparison))
    await writeOutputs(comparison, flags, command)
    if (checks === null) return BENCH_EXIT.ok
    let ok = true
    for (const [index, target] of comparison.targets.entries()) {
      // A comparison's budget applies to each target's median round.
      const runs = comparison.runs[index] ?? []
      const medianRun = [...runs].sort((a, b) => a.requests.perSecond - b.requests.perSecond)[
        runs.length >> 1
      ]
      if (!medianRun) continue
      const evaluation = evaluateBudget(medianRun, checks)
      if (!evaluation.ok) {
        ok = false
        io.out(`BUDGET VIOLATED by ${target.name}: ${evaluation.violations.map((v) => v.line).join('; ')}`)
      }
    }
    if (ok) io.out('budget    met by every target')
    return ok ? BENCH_EXIT.ok : BENCH_EXIT.budgetViolated
  } catch (error) {
    progress.stop()
    if (error instanceof HotpathError) {
      io.err(`hotpath bench: ${error.message}`)
      return error.code === 'E_BENCH_ENGINE' ? BENCH_EXIT.runFailed : BENCH_EXIT.invalidInput
    }
    io.err(`hotpath bench: ${(error as Error).message}`)
    return BENCH_EXIT.runFailed
  }
}

function formatRps(result: BenchResult): string {
  return `${Math.round(result.requests.perSecond).toLocaleString('en-US')} req/s`
}

function noResponse(io: BenchIo, result: BenchResult): number {
  const e = result.errors
  io.err(
    `hotpath bench: no response from ${result.url} (${result.engine}: ${e.other} connect errors, ` +
      `${e.resets} resets, ${e.timeouts} timeouts). Is the server running and listening there?`,
  )
  return BENCH_EXIT.runFailed
}
