import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { Command } from 'commander'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { registerProfileCommand } from '../../../cli/commands/profile.js'
import { profilingPlugin } from '../../../src/fastify/profiling.js'
import { isCpuProfile } from '../../../src/profiling/cpu-profile.js'

const TOKEN = 'cli-admin-token-123'

function hotpathCliProfiledWork(ms: number): number {
  const end = performance.now() + ms
  let x = 0
  while (performance.now() < end) x += Math.sqrt(x + 1)
  return x
}

let app: FastifyInstance
let base: string
let serverDir: string
let outDir: string

beforeAll(async () => {
  serverDir = await mkdtemp(path.join(tmpdir(), 'hotpath-cli-server-'))
  outDir = await mkdtemp(path.join(tmpdir(), 'hotpath-cli-out-'))
  app = Fastify()
  await app.register(profilingPlugin, { enabled: true, adminToken: TOKEN, dir: serverDir, blocking: false })
  app.get('/work', async () => ({ x: hotpathCliProfiledWork(80) > 0 }))
  base = await app.listen({ host: '127.0.0.1', port: 0 })
})
afterAll(async () => {
  await app.close()
  await rm(serverDir, { recursive: true, force: true })
  await rm(outDir, { recursive: true, force: true })
})

async function run(...args: string[]): Promise<string> {
  let output = ''
  const program = new Command('hotpath').exitOverride()
  registerProfileCommand(program, (text) => (output += text))
  await program.parseAsync(['profile', ...args], { from: 'user' })
  return output
}

describe('hotpath profile', () => {
  it('profiles one request, saves the profile and prints the summary naming the hot function', async () => {
    const output = await run(`${base}/work`, '--token', TOKEN, '--out', outDir, '--top', '40')
    expect(output).toContain(`Profiled GET ${base}/work → 200`)
    expect(output).toContain('Top functions by self time')
    expect(output).toMatch(/hotpathCliProfiledWork\s+\S*profile-command\.test\.ts:\d+/u)
    const [saved] = (await readdir(outDir)).filter((name) => name.endsWith('.cpuprofile'))
    expect(saved).toBeDefined()
    expect(isCpuProfile(JSON.parse(await readFile(path.join(outDir, saved!), 'utf8')))).toBe(true)
  })

  it('profiles the whole process for --duration while load runs', async () => {
    const profiling = run(`${base}/work`, '--token', TOKEN, '--out', outDir, '--duration', '400ms', '--json')
    await new Promise((resolve) => setTimeout(resolve, 50))
    await fetch(`${base}/work`)
    const result = JSON.parse(await profiling) as {
      id: string
      file: string
      summary: { sampleCount: number }
    }
    expect(result.summary.sampleCount).toBeGreaterThan(0)
    expect(isCpuProfile(JSON.parse(await readFile(result.file, 'utf8')))).toBe(true)
  })

  it('fails with a clear message when the token is wrong (the server gives no hint)', async () => {
    await expect(run(`${base}/work`, '--token', 'wrong-token', '--out', outDir)).rejects.toMatchObject({
      code: 'E_PROFILE_FAILED',
      message: expect.stringContaining('without a profile'),
    })
    await expect(run(`${base}/work`, '--token', 'wrong-token', '--duration', '1s')).rejects.toMatchObject({
      code: 'E_PROFILE_FAILED',
      message: expect.stringContaining('404'),
    })
  })
})
