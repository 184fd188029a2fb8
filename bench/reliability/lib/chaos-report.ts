/**
 * Text table, verdict and HTML page of a chaos run.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { escapeHtml, reliabilityPage, timeChartSvg } from './chaos-chart.js'
import type { ChaosResult } from './chaos-run.js'

/** A check of the run against its targets. */
export interface ChaosVerdict {
  readonly ok: boolean
  readonly failures: readonly string[]
}

const ms = (value: number | null) => (value === null ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(0))

/**
 * The targets of issue 10: no read fails while the database is up, no acknowledged write is lost,
 * every fault recovers within its gap; p99 during a Redis fault stays within the client timeout.
 */
export function chaosVerdict(result: ChaosResult): ChaosVerdict {
  const failures: string[] = []
  for (const fault of result.faults) {
    if (fault.failedReadsDatabaseUp > 0) {
      failures.push(`${fault.name}: ${fault.failedReadsDatabaseUp} reads failed while the database was up`)
    }
    if (fault.recoveryMs === null) failures.push(`${fault.name}: no window back to baseline within the gap`)
    if (!fault.observed.recovered) {
      failures.push(`${fault.name}: the service never trusted its L1 with the breaker closed again`)
    }
  }
  if (result.writes.lost.length > 0) {
    failures.push(`${result.writes.lost.length} acknowledged writes are not in the database`)
  }
  return { ok: failures.length === 0, failures }
}

/** Plain-text table, one row per fault. */
export function formatChaos(result: ChaosResult): string {
  const s = result.settings
  const header = [
    'fault',
    'requests',
    'failed reads',
    '(db up)',
    'failed writes',
    'p99 before',
    'p99 during',
    'max during',
    'recovered after',
    'service saw',
  ]
  const rows = result.faults.map((fault) => [
    fault.name,
    String(fault.requests),
    String(fault.failedReads),
    String(fault.failedReadsDatabaseUp),
    String(fault.failedWrites),
    `${ms(fault.p99BeforeMs)} ms`,
    `${ms(fault.p99DuringMs)} ms`,
    `${ms(fault.maxDuringMs)} ms`,
    fault.recoveryMs === null ? 'not within gap' : `< ${fault.recoveryMs + s.windowMs} ms`,
    [
      fault.observed.l1Untrusted ? 'L1 untrusted' : '',
      fault.observed.breakerOpened ? 'breaker open' : '',
      fault.observed.l2Errors > 0 ? `${fault.observed.l2Errors} L2 errors` : '',
      fault.observed.recoveredAfterMs === null
        ? 'NOT BACK'
        : `back after ${Math.round(fault.observed.recoveredAfterMs)} ms`,
    ]
      .filter(Boolean)
      .join(', ') || '-',
  ])
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  )
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')
  const verdict = chaosVerdict(result)
  return [
    `chaos: ${s.database}, write-${s.writeStrategy}, Redis appendfsync ${s.redisAppendfsync}, ${s.connections} connections, ${s.items} items, mix ${JSON.stringify(s.mix)}`,
    `faults of ${s.faultMs} ms, gaps of ${s.gapMs} ms; cache timeouts: L2 ${s.l2TimeoutMs} ms, breaker ${s.breakerOpenMs} ms, L1 trust ${s.l1TrustMs} ms; client timeout ${s.timeoutMs} ms`,
    '',
    line(header),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map(line),
    '',
    ...result.faults
      .filter((fault) => Object.keys(fault.failuresBy).length > 0)
      .map(
        (fault) =>
          `${fault.name} failures: ${Object.entries(fault.failuresBy)
            .map(([what, count]) => `${count} × ${what}`)
            .join(', ')}`,
      ),
    ...result.serviceErrors.slice(0, 8).map((e) => `service error ×${e.count}: ${e.error.slice(0, 200)}`),
    `requests: ${result.requests.reads} reads (${result.requests.failedReads} failed), ${result.requests.writes} writes (${result.requests.failedWrites} failed) in ${(result.durationMs / 1000).toFixed(1)} s`,
    `acknowledged writes: ${result.writes.acked} (${result.writes.checked} items checked against the database), lost: ${result.writes.lost.length}`,
    ...result.writes.lost
      .slice(0, 10)
      .map(
        (lost) =>
          `  lost: item ${lost.id} v${lost.ackedVersion} "${lost.ackedName}", database has ${lost.stored === null ? 'no row' : `v${lost.stored.version} "${lost.stored.name}"`}`,
      ),
    verdict.ok
      ? 'verdict: OK'
      : `verdict: FAILED\n${verdict.failures.map((failure) => `  - ${failure}`).join('\n')}`,
  ].join('\n')
}

/** HTML page: the table, then throughput / failures and p99 over time with faults shaded. */
export function chaosHtml(result: ChaosResult, command: string, facts: Record<string, string>): string {
  const bands = result.faults.map((fault) => ({
    from: fault.injectedAt / 1000,
    to: fault.healedAt / 1000,
    label: fault.name,
  }))
  const windowS = result.settings.windowMs / 1000
  const x = (t: number) => t / 1000
  const throughput = timeChartSvg(
    [
      { name: 'requests/s', points: result.timeline.map((w) => ({ x: x(w.t), y: w.requests / windowS })) },
      {
        name: 'failed reads/s',
        points: result.timeline.map((w) => ({ x: x(w.t), y: w.failedReads / windowS })),
      },
      {
        name: 'failed writes/s',
        points: result.timeline.map((w) => ({ x: x(w.t), y: w.failedWrites / windowS })),
      },
    ],
    { title: 'Throughput and failures', yLabel: 'per second', bands },
  )
  const latency = timeChartSvg(
    [
      { name: 'p50', points: result.timeline.map((w) => ({ x: x(w.t), y: w.p50Ms })) },
      { name: 'p99', points: result.timeline.map((w) => ({ x: x(w.t), y: w.p99Ms })) },
    ],
    { title: 'Latency per window', yLabel: 'ms', logY: true, bands, formatY: (y) => `${y} ms` },
  )
  return reliabilityPage('hotpath chaos under load', command, facts, [
    `<pre style="overflow-x: auto">${escapeHtml(formatChaos(result))}</pre>`,
    throughput,
    latency,
  ])
}

/**
 * Write a reliability run's JSON and HTML reports, both stamped with the command that reproduces
 * the run (`script` and the process's arguments) and the machine's facts.
 */
export async function writeRunReports(options: {
  script: string
  result: object
  json: string
  html: string
  page: (command: string, facts: Record<string, string>) => string
}): Promise<void> {
  const command = `npx tsx ${options.script} ${process.argv.slice(2).join(' ')}`.trim()
  const facts = {
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    date: new Date().toISOString(),
  }
  for (const [file, content] of [
    [options.json, JSON.stringify({ command, facts, ...options.result }, null, 2)],
    [options.html, options.page(command, facts)],
  ] as const) {
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, content)
    console.error(`wrote ${file}`)
  }
}
