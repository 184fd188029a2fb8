import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

import { describe, expect, it } from 'vitest'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const profiling = pathToFileURL(path.join(root, 'src/profiling/index.ts')).href

// Types and blank lines on purpose: the transformed JavaScript does not keep these line numbers.
const SCRIPT = `import { startCpuProfile, summarizeProfile } from '${profiling}'

interface Unused { a: number }
type AlsoUnused = { b: string }

function hotpathMappedBusy(ms: number): number {
  const end = performance.now() + ms
  let x = 0
  while (performance.now() < end) x += Math.sqrt(x + 1)
  return x
}

const running = await startCpuProfile()
hotpathMappedBusy(80)
const profile = await running.stop()
const row = summarizeProfile(profile, { top: 50 }).byTotal.find((r) => r.functionName === 'hotpathMappedBusy')
console.log(JSON.stringify(row?.location))
`

describe('profile source positions', () => {
  it('point at the original TypeScript line when the process runs through tsx', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hotpath-srcmap-'))
    try {
      const file = path.join(dir, 'mapped.mts')
      await writeFile(file, SCRIPT)
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: root })
      const location = JSON.parse(stdout.trim()) as string
      expect(location).toMatch(/mapped\.mts:6$/u)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
