#!/usr/bin/env node
/**
 * The `hotpath` command line. Each subcommand lives in `cli/commands/<name>.ts` and exports
 * `register<Name>Command(program)`.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'
import { HotpathError } from '../src/errors.js'
import { registerBenchCommand } from './commands/bench.js'
import { registerExportCommand } from './commands/export.js'
import { registerProfileCommand } from './commands/profile.js'
import { registerSeedCommand } from './commands/seed.js'
import { registerServeCommand } from './commands/serve.js'
import { registerWritesCommand } from './commands/writes.js'

/** hotpath's version, found by walking up: the CLI runs from `cli/` (tsx) and `dist/cli/` (built). */
function packageVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json')
    if (fs.existsSync(file)) {
      const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string }
      if (json.name === 'hotpath' && json.version !== undefined) return json.version
    }
    if (path.dirname(dir) === dir) return '0.0.0'
  }
}

const program = new Command('hotpath')
  .description('Hotpath: performance and caching toolkit for TypeScript HTTP APIs.')
  .version(packageVersion())
  .showHelpAfterError()

registerServeCommand(program)
registerSeedCommand(program)
registerExportCommand(program)
registerBenchCommand(program)
registerProfileCommand(program)
registerWritesCommand(program)

try {
  await program.parseAsync(process.argv)
} catch (error) {
  // Expected failures (bad configuration, bad options) are one clear line, not a stack trace.
  if (error instanceof HotpathError) console.error(`hotpath: ${error.message}`)
  else console.error(error)
  process.exitCode = 1
}
