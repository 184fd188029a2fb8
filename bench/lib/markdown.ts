/** Renders the suite's outcome as `docs/benchmarks.md`. */
import type { Comparison } from '../../src/bench/index.js'
import type { HttpGroup, MicroGroup, RatioClaim } from './groups.js'

/** What running one HTTP group produced. */
export interface HttpOutcome {
  group: HttpGroup
  comparison: Comparison | null
  /** Targets not run, with why (module missing, failed to start). */
  skipped: { name: string; reason: string }[]
  /** Median server CPU per request (µs) per target name, when /proc could tell. */
  serverUsPerRequest: Record<string, number | null>
  settings: { engine: string; rounds: number; duration: string; warmup: string; connections: number }
  error: string | null
}

/** What running one micro group produced. */
export interface MicroOutcome {
  group: MicroGroup
  markdown: string | null
  skipped: string | null
  error: string | null
}

const fmtInt = (value: number) => Math.round(value).toLocaleString('en-US')
const fmtPct = (fraction: number, digits = 0) => `${(fraction * 100).toFixed(digits)}%`
const fmtMs = (ms: number) => (ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(ms >= 1 ? 2 : 3)} ms`)
const cell = (text: string) => text.replace(/\|/g, '\\|')

/** Markdown of one HTTP group. */
export function httpGroupMarkdown(outcome: HttpOutcome): string {
  const { group, comparison, settings } = outcome
  const lines = [`## ${group.title}`, '', group.question, '']
  lines.push(
    `${group.scenario ? `scenario \`${group.scenario}\`` : `\`GET ${group.path}\`${group.ids ? `, ids ${group.ids}` : ''}${group.dist ? `, ${group.dist} distribution` : ''}`}; ` +
      `${settings.engine}, ${settings.connections} connections, ${settings.rounds} interleaved rounds of ` +
      `${settings.duration} after ${settings.warmup} warm-up each.`,
    '',
  )
  if (outcome.error) lines.push(`**Failed:** ${outcome.error}`, '')
  if (comparison && comparison.targets.length > 0) {
    lines.push(
      '| target | req/s (median) | spread | p50 | p99 | errors | cache hit | server CPU µs/req | client CPU µs/req |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    )
    for (const t of comparison.targets) {
      const server = outcome.serverUsPerRequest[t.name]
      lines.push(
        `| ${cell(t.name)} | ${fmtInt(t.rps.median)} | ${fmtPct(t.rps.spread)} | ${fmtMs(t.p50.median)} | ` +
          `${fmtMs(t.p99.median)} | ${fmtPct(t.errorRate, 2)} | ${t.hitRatio === null ? '–' : fmtPct(t.hitRatio, 1)} | ` +
          `${server === null || server === undefined ? '–' : server.toFixed(1)} | ` +
          `${t.clientUsPerRequest.toFixed(1)}${t.clientSaturatedRounds > 0 ? ' ⚠ saturated' : ''} |`,
      )
    }
    const baseline = comparison.targets[0]?.name
    const ratios = comparison.ratios.filter((r) => r.a === baseline)
    if (ratios.length > 0) {
      lines.push('', `Ratios against **${cell(baseline ?? '')}**, paired per round (> 1 means faster):`, '')
      lines.push(
        '| target | req/s ratio (median) | min – max | p99 ratio (median, < 1 is better) |',
        '|---|---:|---:|---:|',
      )
      for (const r of ratios) {
        lines.push(
          `| ${cell(r.b)} | ${r.rps.median.toFixed(2)}× | ${r.rps.min.toFixed(2)} – ${r.rps.max.toFixed(2)} | ${r.p99.median.toFixed(2)}× |`,
        )
      }
    }
    const saturated = comparison.targets.filter((t) => t.clientSaturatedRounds > 0)
    if (saturated.length > 0) {
      lines.push(
        '',
        `⚠ The load generator saturated a core while loading ${saturated.map((t) => t.name).join(', ')}: ` +
          'those rows measure the client, not the server.',
      )
    }
  }
  if (outcome.skipped.length > 0) {
    lines.push('', 'Not measured:', '')
    for (const s of outcome.skipped) lines.push(`- ${cell(s.name)}: ${s.reason}`)
  }
  lines.push('')
  return lines.join('\n')
}

/** Markdown of one micro group. */
export function microGroupMarkdown(outcome: MicroOutcome): string {
  const lines = [`## ${outcome.group.title}`, '', outcome.group.question, '']
  if (outcome.skipped) lines.push(`Not measured: ${outcome.skipped}`, '')
  if (outcome.error) lines.push(`**Failed:** ${outcome.error}`, '')
  if (outcome.markdown) {
    // The script's own headings sit one level below this group's.
    const nested = outcome.markdown.trim().replace(/^(#{1,5}) /gm, '#$1 ')
    lines.push(`Produced by \`${outcome.group.script}\`:`, '', nested, '')
  }
  return lines.join('\n')
}

/** A claim checked against a comparison: the median per-round ratio `rps(b) / rps(a)`. */
export interface ClaimVerdict {
  claim: RatioClaim
  group: string
  /** null when either target was not measured. */
  ratio: { median: number; min: number; max: number } | null
  met: boolean | null
}

/** Check a group's claims against its comparison (pairs in either order). */
export function checkClaims(outcome: HttpOutcome): ClaimVerdict[] {
  return (outcome.group.claims ?? []).map((claim) => {
    const ratios = outcome.comparison?.ratios ?? []
    const direct = ratios.find((r) => r.a === claim.a && r.b === claim.b)
    const reverse = ratios.find((r) => r.a === claim.b && r.b === claim.a)
    const ratio = direct
      ? { median: direct.rps.median, min: direct.rps.min, max: direct.rps.max }
      : reverse
        ? { median: 1 / reverse.rps.median, min: 1 / reverse.rps.max, max: 1 / reverse.rps.min }
        : null
    return { claim, group: outcome.group.name, ratio, met: ratio === null ? null : ratio.median >= claim.min }
  })
}

/** A target a micro script printed as `- label: **2.5x** (target >= 2x)`, under its latest heading. */
export interface MicroClaim {
  text: string
  ratio: number
  op: '>=' | '<='
  bound: number
  met: boolean
}

const MICRO_CLAIM = /^- (.+?): \*\*(\d+(?:\.\d+)?)x\*\* \(target (>=|<=) (\d+(?:\.\d+)?)x\)/

/** The targets a micro script's output states, checked (the scripts compute medians themselves). */
export function microClaims(markdown: string): MicroClaim[] {
  const claims: MicroClaim[] = []
  let heading = ''
  for (const line of markdown.split('\n')) {
    const title = /^#{1,6} (.+)$/.exec(line)?.[1]
    if (title !== undefined) heading = title.trim()
    const match = MICRO_CLAIM.exec(line)
    if (!match) continue
    const ratio = Number(match[2])
    const op = match[3] as '>=' | '<='
    const bound = Number(match[4])
    claims.push({
      text: heading ? `${heading}: ${match[1] ?? ''}` : (match[1] ?? ''),
      ratio,
      op,
      bound,
      met: op === '>=' ? ratio >= bound : ratio <= bound,
    })
  }
  return claims
}

/** One section per issue: each stated target, the measured median ratio, its spread, met or not. */
export function claimsMarkdown(outcomes: (HttpOutcome | MicroOutcome)[]): string {
  const verdicts = outcomes.flatMap((o) => (o.group.kind === 'http' ? checkClaims(o as HttpOutcome) : []))
  const issues = [...new Set(outcomes.flatMap((o) => o.group.issues))].sort((a, b) => a - b)
  const lines: string[] = []
  for (const issue of issues) {
    const mine = verdicts.filter((v) => v.claim.issue === issue)
    const micro = outcomes.filter((o) => o.group.kind === 'micro' && o.group.issues.includes(issue))
    if (mine.length === 0 && micro.length === 0) continue
    lines.push(`## Issue ${issue}: targets`, '')
    if (mine.length > 0) {
      lines.push(
        '| target (as the issue states it) | compared | req/s ratio (median) | min – max | verdict |',
        '|---|---|---:|---:|---|',
      )
      for (const v of mine) {
        const verdict =
          v.met === null ? 'not measured' : v.met ? `met (≥ ${v.claim.min.toFixed(2)}×)` : '**NOT met**'
        lines.push(
          `| ${cell(v.claim.text)} | ${cell(v.claim.b)} / ${cell(v.claim.a)} (\`${v.group}\`) | ` +
            `${v.ratio ? `${v.ratio.median.toFixed(2)}×` : '–'} | ` +
            `${v.ratio ? `${v.ratio.min.toFixed(2)} – ${v.ratio.max.toFixed(2)}` : '–'} | ${verdict} |`,
        )
      }
      lines.push('')
    }
    // A micro script's own targets belong to the first issue of its group.
    const stated = micro.flatMap((o) =>
      o.group.issues[0] === issue && (o as MicroOutcome).markdown
        ? microClaims((o as MicroOutcome).markdown ?? '').map((c) => ({ c, group: o.group.name }))
        : [],
    )
    if (stated.length > 0) {
      lines.push(
        '| in-process target (as the script states it) | group | ratio (median) | bound | verdict |',
        '|---|---|---:|---:|---|',
      )
      for (const { c, group } of stated) {
        lines.push(
          `| ${cell(c.text)} | \`${group}\` | ${c.ratio.toFixed(2)}× | ${c.op} ${c.bound}× | ` +
            `${c.met ? 'met' : '**NOT met**'} |`,
        )
      }
      lines.push('')
    }
    if (micro.length > 0) {
      const titles = micro.map((o) => `“${o.group.title}” (\`${o.group.name}\`)`).join(', ')
      lines.push(`Details: ${titles} below.`, '')
    }
  }
  return lines.join('\n')
}

/** The whole page. */
export function suiteMarkdown(input: {
  command: string
  startedAt: string
  elapsedMs: number
  machine: Record<string, string>
  outcomes: (HttpOutcome | MicroOutcome)[]
}): string {
  const lines = [
    '# Benchmarks',
    '',
    `Generated by \`${input.command}\` on ${input.startedAt} in ${(input.elapsedMs / 60_000).toFixed(1)} minutes. ` +
      'Regenerate with `npm run bench` (about 13 minutes; `-- --quick` for a smoke run, `-- --only <group>` for one group).',
    '',
    '## Machine',
    '',
    ...Object.entries(input.machine).map(([key, value]) => `- **${key}**: ${value}`),
    '',
    '## Method',
    '',
    '- Every server runs in its own process on 127.0.0.1, started by `bench/run.ts`; the load generator runs in another.',
    '- Targets of a group are measured in interleaved rounds (A B C A B C …) so that drift of a shared machine hits all alike;',
    '  a ratio is computed within each round and the table gives its median and min – max over the rounds.',
    '- `spread` = (max − min) / median of a target’s req/s over its rounds. On this machine the same server varies by up to 40 %',
    '  between rounds: read ratios, not absolute numbers, and distrust differences smaller than the spread.',
    '- Server CPU µs/req comes from `/proc/<pid>/stat` of the server process; client CPU from the load generator',
    '  (wrk’s own CPU, or this process for autocannon). A saturated client is flagged: its row measures the client.',
    '- Latency columns are medians over the rounds; errors count HTTP ≥ 400, timeouts and socket errors.',
    '- A target is **met** when the median of its per-round ratios reaches it; min – max shows how sure that is.',
    '',
    claimsMarkdown(input.outcomes),
  ]
  for (const outcome of input.outcomes) {
    lines.push(
      'group' in outcome && outcome.group.kind === 'http'
        ? httpGroupMarkdown(outcome as HttpOutcome)
        : microGroupMarkdown(outcome as MicroOutcome),
    )
  }
  return `${lines.join('\n').trimEnd()}\n`
}
