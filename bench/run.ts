/**
 * The project's benchmark suite (`npm run bench`): starts every configuration of every group in
 * its own process on loopback, loads them in interleaved rounds (wrk when installed), runs the
 * micro benchmarks, and writes `docs/benchmarks.md` and `docs/benchmarks.html`.
 *
 *   npm run bench                      # the default suite (< 15 minutes)
 *   npm run bench -- --quick           # 2 short rounds per group, to check that everything runs
 *   npm run bench -- --only cache-aside,miss     # groups by name (optional ones included)
 *   npm run bench -- --only issue-4    # every group measuring issue 4's benchmarks
 *   npm run bench -- --quick --only overhead --out /tmp/b   # writes /tmp/b/benchmarks.{md,html,json}
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import * as prettier from 'prettier'
import {
  detectWrk,
  formatComparison,
  loadScenarioFile,
  renderHtmlReport,
  runComparison,
  scenarioFromUrl,
  type CompareTarget,
} from '../src/bench/index.js'
import { GROUPS, type BenchGroup, type HttpGroup, type MicroGroup } from './lib/groups.js'
import { ensureItemsDb } from './lib/items-db.js'
import { suiteMarkdown, type HttpOutcome, type MicroOutcome } from './lib/markdown.js'
import { spawnTarget, type SpawnedTarget, type TargetRuntime } from './lib/spawn-target.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const FULL = { rounds: 5, duration: '3s', warmup: '1s' }
const QUICK = { rounds: 2, duration: '1s', warmup: '1s' }
const DEFAULT_CONNECTIONS = 50
const MICRO_TIMEOUT_MS = 3 * 60_000
/** Measured fixed cost of one run (engine start, priming, collecting), for the time estimate. */
const RUN_OVERHEAD_S = 0.9
/** Rough duration of a micro script when its group gives none, and of any in --quick mode. */
const DEFAULT_MICRO_S = 60
const QUICK_MICRO_S = 10

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    engine: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    /** `compiled` (default: the code as `npm start` runs it) or `tsx` (see bench/lib/spawn-target.ts). */
    runtime: { type: 'string', default: 'compiled' },
    /** A directory for all three outputs (`benchmarks.md`, `.html`, `.json`), or the page's path. */
    out: { type: 'string' },
    md: { type: 'string', default: 'docs/benchmarks.md' },
    html: { type: 'string', default: 'docs/benchmarks.html' },
    json: { type: 'string', default: 'bench/results/latest.json' },
    list: { type: 'boolean', default: false },
  },
})

const settingsBase = flags.quick ? QUICK : FULL
if (flags.runtime !== 'compiled' && flags.runtime !== 'tsx') {
  console.error(`--runtime must be compiled or tsx, not ${flags.runtime}`)
  process.exit(2)
}
const runtime: TargetRuntime = flags.runtime
const wrk = detectWrk()
const defaultEngine = (flags.engine as 'wrk' | 'autocannon' | undefined) ?? (wrk ? 'wrk' : 'autocannon')
const only = flags.only
  ?.split(',')
  .map((name) => name.trim())
  .filter((name) => name !== '')
const unknown = (only ?? []).filter((name) => !GROUPS.some((group) => selects(name, group)))
const groups = GROUPS.filter((group) =>
  only ? only.some((name) => selects(name, group)) : group.optional !== true,
)
// `--out file.md` names the page alone (as before); `--out dir` holds all three outputs.
const outputs = flags.out?.endsWith('.md')
  ? { md: flags.out, html: flags.html, json: flags.json }
  : flags.out
    ? {
        md: path.join(flags.out, 'benchmarks.md'),
        html: path.join(flags.out, 'benchmarks.html'),
        json: path.join(flags.out, 'benchmarks.json'),
      }
    : { md: flags.md, html: flags.html, json: flags.json }

/** `--only` names a group, or `issue-N` / `N` for every group of issue N. */
function selects(name: string, group: BenchGroup): boolean {
  const issue = /^(?:issue-?)?(\d+)$/.exec(name)?.[1]
  return issue === undefined ? group.name === name : group.issues.includes(Number(issue))
}

if (flags.list) {
  for (const group of GROUPS) {
    const tags = `${group.issues.map((n) => `issue-${n}`).join(' ')}${group.optional ? ' (optional)' : ''}`
    console.log(`${group.name.padEnd(16)} ${tags.padEnd(28)} ${group.title}`)
  }
  const which = only ? `--only ${only.join(',')}` : 'the default run'
  console.log(
    `\n${which}${flags.quick ? ' --quick' : ''}: about ${Math.ceil(estimateSeconds() / 60)} minute(s).`,
  )
  process.exit(0)
}
if (unknown.length > 0) {
  const known = GROUPS.map((group) => group.name).join(', ')
  console.error(`Unknown group in --only: ${unknown.join(', ')}; known: ${known}, or issue-N`)
  process.exit(2)
}
if (defaultEngine === 'autocannon') {
  console.warn(
    'wrk is not installed: falling back to autocannon, which takes CPU from the servers it measures.',
  )
}

function settingsOf(group: HttpGroup) {
  return {
    engine: flags.engine ?? group.engine ?? defaultEngine,
    rounds: Number(flags.rounds ?? (flags.quick ? undefined : group.rounds) ?? settingsBase.rounds),
    duration: flags.duration ?? (flags.quick ? undefined : group.duration) ?? settingsBase.duration,
    warmup: flags.warmup ?? (flags.quick ? undefined : group.warmup) ?? settingsBase.warmup,
    connections: Number(flags.connections ?? group.connections ?? DEFAULT_CONNECTIONS),
  }
}

function seconds(duration: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(duration)
  if (!match) return 0
  const value = Number(match[1])
  return match[2] === 'ms' ? value / 1_000 : match[2] === 'm' ? value * 60 : value
}

function estimateSeconds(): number {
  let total = 0
  for (const group of groups) {
    if (group.kind !== 'http') {
      total += flags.quick ? QUICK_MICRO_S : (group.estimateSeconds ?? DEFAULT_MICRO_S)
      continue
    }
    const s = settingsOf(group)
    const present = group.targets.filter((t) => existsSync(path.join(ROOT, t.module))).length
    total += present * s.rounds * (seconds(s.duration) + seconds(s.warmup) + RUN_OVERHEAD_S)
  }
  return total
}

async function runHttpGroup(group: HttpGroup): Promise<HttpOutcome> {
  const settings = settingsOf(group)
  const outcome: HttpOutcome = {
    group,
    comparison: null,
    skipped: [],
    serverUsPerRequest: {},
    settings,
    error: null,
  }
  const running: { spec: HttpGroup['targets'][number]; server: SpawnedTarget }[] = []
  try {
    for (const spec of group.targets) {
      if (!existsSync(path.join(ROOT, spec.module))) {
        outcome.skipped.push({ name: spec.name, reason: `\`${spec.module}\` does not exist yet` })
        continue
      }
      try {
        const server = await spawnTarget(path.join(ROOT, spec.module), {
          ...(spec.exportName ? { exportName: spec.exportName } : {}),
          ...(spec.env ? { env: spec.env } : {}),
          runtime: spec.runtime ?? runtime,
        })
        running.push({ spec, server })
      } catch (error) {
        outcome.skipped.push({ name: spec.name, reason: `failed to start: ${firstLine(error)}` })
      }
    }
    if (running.length === 0) return outcome
    const mix = group.scenario ? await loadScenarioFile(path.join(ROOT, group.scenario)) : null
    const targets: CompareTarget[] = running.map(({ spec, server }) => {
      if (mix) return { name: spec.name, url: server.url, scenario: mix }
      const url = `${server.url}${spec.path ?? group.path}`
      return {
        name: spec.name,
        url,
        scenario: scenarioFromUrl(url, {
          ...(group.ids ? { ids: group.ids } : {}),
          ...(group.dist ? { dist: group.dist } : {}),
          replayEtag: spec.replayEtag ?? group.replayEtag ?? false,
        }),
      }
    })
    const serverSamples = new Map<string, number[]>()
    let cpuBefore: number | null = null
    const byName = new Map(running.map(({ spec, server }) => [spec.name, server]))
    outcome.comparison = await runComparison({
      targets,
      rounds: settings.rounds,
      duration: settings.duration,
      warmup: settings.warmup,
      connections: settings.connections,
      engine: settings.engine as 'wrk' | 'autocannon',
      beforeRun: (round, target) => {
        process.stdout.write(`  round ${round + 1}/${settings.rounds} ${target.name} ... `)
        cpuBefore = byName.get(target.name)?.cpuMs() ?? null
      },
      afterRun: (_round, target, result) => {
        // Server CPU includes the warm-up; per request over the warm-up and the run alike.
        const after = byName.get(target.name)?.cpuMs() ?? null
        const perRequest =
          cpuBefore !== null && after !== null && result.requests.total > 0
            ? ((after - cpuBefore) * 1_000) /
              (result.requests.total * (1 + result.options.warmupMs / result.options.durationMs))
            : null
        if (perRequest !== null)
          serverSamples.set(target.name, [...(serverSamples.get(target.name) ?? []), perRequest])
        console.log(
          `${Math.round(result.requests.perSecond).toLocaleString('en-US')} req/s, p99 ${result.latency.p99.toFixed(2)} ms`,
        )
      },
    })
    for (const target of targets) {
      const samples = (serverSamples.get(target.name) ?? []).sort((a, b) => a - b)
      outcome.serverUsPerRequest[target.name] =
        samples.length === 0 ? null : (samples[samples.length >> 1] ?? null)
    }
    console.log(formatComparison(outcome.comparison))
  } catch (error) {
    outcome.error = firstLine(error)
    console.error(`  group ${group.name} failed: ${outcome.error}`)
  } finally {
    await Promise.all(running.map(({ server }) => server.stop()))
  }
  return outcome
}

function runMicroGroup(group: MicroGroup): Promise<MicroOutcome> {
  const script = path.join(ROOT, group.script)
  if (!existsSync(script)) {
    return Promise.resolve({
      group,
      markdown: null,
      skipped: `\`${group.script}\` does not exist yet`,
      error: null,
    })
  }
  const scriptArgs = flags.quick
    ? (group.quickArgs ?? [...(group.args ?? []), '--quick'])
    : (group.args ?? [])
  const args = ['--import', 'tsx', script, ...scriptArgs]
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: ROOT, timeout: group.timeoutMs ?? MICRO_TIMEOUT_MS, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error)
          resolve({
            group,
            markdown: stdout || null,
            skipped: null,
            error: `${firstLine(error)} ${stderr.trim().split('\n').slice(-3).join(' ')}`,
          })
        else resolve({ group, markdown: stdout, skipped: null, error: null })
      },
    )
  })
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''
}

function execText(file: string, args: string[]): Promise<string> {
  return new Promise((resolve) =>
    execFile(file, args, (_e, stdout, stderr) => resolve(`${stdout}${stderr}`.trim())),
  )
}

async function machineFacts(): Promise<Record<string, string>> {
  const cpus = os.cpus()
  const wrkVersion = wrk
    ? ((await execText(wrk, ['-v'])).split('\n')[0] ?? '').replace(/ Copyright.*/, '')
    : 'not installed'
  return {
    CPU: `${cpus[0]?.model.trim() ?? 'unknown'} × ${cpus.length} (shared by the servers and the load generator)`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    OS: `${os.type()} ${os.release()} (${os.arch()})`,
    Node: process.version,
    'load generator': `${defaultEngine}${defaultEngine === 'wrk' ? ` (${wrkVersion}), 1 thread` : ''}`,
    'load average at start': os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' '),
  }
}

const startedAt = new Date()
const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(
  ' ',
)
console.log(`${command}: ${groups.length} group(s), about ${Math.ceil(estimateSeconds() / 60)} minute(s).`)
ensureItemsDb()
const machine = await machineFacts()
const outcomes: (HttpOutcome | MicroOutcome)[] = []
for (const group of groups) {
  console.log(`\n== ${group.name}: ${group.title}`)
  outcomes.push(group.kind === 'http' ? await runHttpGroup(group) : await runMicroGroup(group))
}
const elapsedMs = Date.now() - startedAt.getTime()
const markdown = suiteMarkdown({ command, startedAt: startedAt.toISOString(), elapsedMs, machine, outcomes })
const sections = outcomes.flatMap((outcome) =>
  'comparison' in outcome && outcome.comparison
    ? [{ title: outcome.group.title, comparison: outcome.comparison }]
    : [],
)
for (const file of [outputs.md, outputs.html, outputs.json])
  await mkdir(path.dirname(path.resolve(ROOT, file)), { recursive: true })
// Formatted like the rest of the repository, so `prettier --check .` passes on the committed page.
const outFile = path.resolve(ROOT, outputs.md)
const prettierConfig = (await prettier.resolveConfig(outFile)) ?? {}
await writeFile(outFile, await prettier.format(markdown, { ...prettierConfig, filepath: outFile }))
await writeFile(
  path.resolve(ROOT, outputs.html),
  renderHtmlReport(null, {
    title: 'Hotpath benchmarks',
    command,
    facts: { date: startedAt.toISOString(), ...machine },
    sections,
  }),
)
await writeFile(
  path.resolve(ROOT, outputs.json),
  `${JSON.stringify({ command, machine, outcomes }, null, 2)}\n`,
)
console.log(
  `\nWrote ${outputs.md}, ${outputs.html} and ${outputs.json} in ${(elapsedMs / 60_000).toFixed(1)} minutes.`,
)
