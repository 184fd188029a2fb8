/**
 * One bench target: the reference service with `WRITE_STRATEGY` (through | behind), listening on
 * `PORT`; prints `PORT <n>` when ready. Env as for `hotpath serve` plus `WB_PREFIX`.
 */
import { buildApp } from '../../service/src/app.js'
import { loadConfig } from '../../service/src/config.js'
import {
  writeStrategyFromEnv,
  writeStrategySetup,
} from '../../service/src/write-strategy/write-strategy-plugin.js'

const config = loadConfig({ ...process.env, LOG_LEVEL: 'error' })
const app = await buildApp(config, {
  plugins: [writeStrategySetup({ strategy: writeStrategyFromEnv(), prefix: process.env.WB_PREFIX })],
})
await app.listen({ port: config.port, host: '127.0.0.1' })
const address = app.server.address()
process.stdout.write(`PORT ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
const stop = () => void app.close().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
