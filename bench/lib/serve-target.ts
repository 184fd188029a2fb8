/**
 * Child-process entry that runs one bench target, so its CPU is separate from the load generator:
 * `node --import tsx bench/lib/serve-target.ts <module> <port> [exportName]`.
 * Prints `READY <port>` once listening; closes the target on SIGTERM/SIGINT.
 */
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { StartTarget } from './target.js'

const [modulePath, portText, exportName = 'start'] = process.argv.slice(2)
if (!modulePath || !portText) {
  console.error('usage: serve-target.ts <module> <port> [exportName]')
  process.exit(2)
}
const module = (await import(pathToFileURL(path.resolve(modulePath)).href)) as Record<string, unknown>
const start = module[exportName] as StartTarget | undefined
if (typeof start !== 'function') {
  console.error(`${modulePath} does not export a function "${exportName}(port)"`)
  process.exit(2)
}
const target = await start(Number(portText))
process.stdout.write(`READY ${portText}\n`)
let closing = false
const shutdown = () => {
  if (closing) return
  closing = true
  target
    .close()
    .catch((error: unknown) => console.error(error))
    .finally(() => process.exit(0))
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
