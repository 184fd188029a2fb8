import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'

import { type Command, InvalidArgumentError } from 'commander'
import { request } from 'undici'

import { HotpathError } from '../../src/errors.js'
import {
  formatProfileSummary,
  isCpuProfile,
  summarizeProfile,
  type ProfileSummary,
} from '../../src/profiling/cpu-profile.js'
import { DEFAULT_PROFILE_DIR, DEFAULT_SUMMARY_TOP } from '../../src/profiling/defaults.js'
import { isProfileId } from '../../src/profiling/profile-store.js'
import { parseDuration } from '../../src/util/duration.js'

/** Environment variable the admin token is read from when `--token` is not given. */
export const ADMIN_TOKEN_ENV = 'HOTPATH_ADMIN_TOKEN'

export interface ProfileUrlOptions {
  /** The URL to profile; its origin also serves the debug routes. */
  url: string
  /** Admin token of the server. */
  token: string
  /** Profile the whole process for this long instead of one request (`'10s'`). */
  duration?: string | undefined
  /** @default 'GET' */
  method?: string
  /** Directory to save the `.cpuprofile` in. @default '.profiles' */
  out?: string
  /** Rows per summary table. @default 15 */
  top?: number
  /** Prefix of the server's debug routes. @default '/debug' */
  debugPrefix?: string
}

export interface ProfileUrlResult {
  id: string
  file: string
  /** Status of the profiled request (per-request mode). */
  statusCode?: number
  summary: ProfileSummary
}

function failure(message: string): HotpathError {
  return new HotpathError('E_PROFILE_FAILED', message)
}

/**
 * Take a CPU profile of one request to `url` (or of the whole server for `duration`), download it
 * into `out` and summarise it.
 *
 * @example
 * const result = await profileUrl({ url: 'http://localhost:3000/items/1', token: process.env.HOTPATH_ADMIN_TOKEN! })
 * console.log(formatProfileSummary(result.summary))
 */
export async function profileUrl(options: ProfileUrlOptions): Promise<ProfileUrlResult> {
  let target: URL
  try {
    target = new URL(options.url)
  } catch {
    throw failure(`"${options.url}" is not an absolute URL (e.g. http://localhost:3000/items/1).`)
  }
  const prefix = options.debugPrefix ?? '/debug'
  const auth = { authorization: `Bearer ${options.token}` }
  let id: string
  let statusCode: number | undefined

  if (options.duration !== undefined) {
    const durationMs = parseDuration(options.duration, '--duration')
    const endpoint = new URL(`${prefix}/profile`, target)
    endpoint.searchParams.set('duration', `${durationMs}ms`)
    const response = await request(endpoint, {
      method: 'POST',
      headers: auth,
      headersTimeout: durationMs + 60_000,
    })
    const text = await response.body.text()
    if (response.statusCode === 409)
      throw failure('another CPU profile is running on the server; retry shortly.')
    if (response.statusCode === 404) {
      throw failure(
        `${endpoint.origin}${prefix}/profile answered 404: profiling is not enabled there or the token is wrong.`,
      )
    }
    if (response.statusCode !== 200)
      throw failure(`POST ${endpoint.href} answered ${response.statusCode}: ${text.slice(0, 300)}`)
    id = (JSON.parse(text) as { info: { id: string } }).info.id
  } else {
    const response = await request(target, {
      method: (options.method ?? 'GET').toUpperCase() as 'GET',
      headers: { ...auth, 'x-hotpath-profile': '1' },
    })
    await response.body.dump()
    statusCode = response.statusCode
    if (statusCode === 409) throw failure('another CPU profile is running on the server; retry shortly.')
    const header = response.headers['x-hotpath-profile-id']
    if (typeof header !== 'string') {
      throw failure(
        `${target.href} answered ${statusCode} without a profile: profiling is not enabled on that server, ` +
          `the admin token is wrong (--token or ${ADMIN_TOKEN_ENV}), or the URL is not served by a Hotpath app.`,
      )
    }
    id = header
  }
  if (!isProfileId(id)) throw failure(`the server returned an invalid profile id ${JSON.stringify(id)}.`)

  const download = await request(new URL(`${prefix}/profiles/${id}`, target), { headers: auth })
  const body = await download.body.text()
  if (download.statusCode !== 200) throw failure(`downloading profile ${id} answered ${download.statusCode}.`)
  const profile: unknown = JSON.parse(body)
  if (!isCpuProfile(profile)) throw failure(`profile ${id} is not a V8 CPU profile.`)

  const dir = path.resolve(options.out ?? DEFAULT_PROFILE_DIR)
  await mkdir(dir, { recursive: true })
  const file = path.join(dir, `${id}.cpuprofile`)
  await writeFile(file, body)
  return {
    id,
    file,
    ...(statusCode === undefined ? {} : { statusCode }),
    summary: summarizeProfile(profile, { top: options.top ?? DEFAULT_SUMMARY_TOP }),
  }
}

function parseTop(value: string): number {
  const top = Number(value)
  if (!/^\d+$/u.test(value) || top < 1 || top > 500)
    throw new InvalidArgumentError(`expected 1..500, got "${value}".`)
  return top
}

function parseDurationArgument(value: string): string {
  try {
    parseDuration(value, '--duration')
  } catch {
    throw new InvalidArgumentError(`expected a duration such as 10s or 500ms, got "${value}".`)
  }
  return value
}

interface ProfileFlags {
  token?: string
  duration?: string
  method: string
  out: string
  top: number
  debugPrefix: string
  json?: boolean
}

/**
 * `hotpath profile <url>`: profile one request (or, with `--duration 10s`, the whole server while
 * you put load on it), save the `.cpuprofile` and print the top functions by self and total time.
 *
 * @param write where the report goes (tests pass their own)
 */
export function registerProfileCommand(
  program: Command,
  write: (text: string) => void = (text) => process.stdout.write(text),
): void {
  program
    .command('profile')
    .description('CPU-profile one request (or the whole server for --duration), save it and print a summary.')
    .argument('<url>', 'URL of a Hotpath service with profiling enabled')
    .option('--token <token>', `admin token (default: ${ADMIN_TOKEN_ENV})`)
    .option(
      '--duration <duration>',
      'profile the whole process for this long (e.g. 10s) instead of one request',
      parseDurationArgument,
    )
    .option('--method <method>', 'HTTP method of the profiled request', 'GET')
    .option('--out <dir>', 'directory to save the .cpuprofile in', DEFAULT_PROFILE_DIR)
    .option('--top <n>', 'rows per summary table', parseTop, DEFAULT_SUMMARY_TOP)
    .option('--debug-prefix <prefix>', "prefix of the server's debug routes", '/debug')
    .option('--json', 'print the summary as JSON')
    .action(async (url: string, flags: ProfileFlags) => {
      const token = flags.token ?? process.env[ADMIN_TOKEN_ENV]
      if (token === undefined || token === '') {
        throw failure(`an admin token is required: pass --token or set ${ADMIN_TOKEN_ENV}.`)
      }
      const result = await profileUrl({
        url,
        token,
        duration: flags.duration,
        method: flags.method,
        out: flags.out,
        top: flags.top,
        debugPrefix: flags.debugPrefix,
      })
      if (flags.json) {
        write(
          `${JSON.stringify({ id: result.id, file: result.file, statusCode: result.statusCode, summary: result.summary }, null, 2)}\n`,
        )
        return
      }
      const what =
        flags.duration === undefined
          ? `${flags.method.toUpperCase()} ${url} → ${result.statusCode}`
          : `process for ${flags.duration}`
      write(
        `Profiled ${what}\nSaved ${result.file} (open in Chrome DevTools or https://www.speedscope.app)\n\n`,
      )
      write(`${formatProfileSummary(result.summary)}\n`)
    })
}
