/**
 * The reference service with WRITE_STRATEGY=behind, run as a child process by the kill test.
 * Env: DATABASE_URL, REDIS_URL, WB_PREFIX, WB_CONSUMER, KILL_AFTER_COMMIT (probability of a
 * SIGKILL right after a database commit, before the XACK). Prints `PORT <n>` once listening.
 */
import { buildApp } from '../../../../service/src/app.js'
import { loadConfig } from '../../../../service/src/config.js'
import { writeStrategySetup } from '../../../../service/src/write-strategy/write-strategy-plugin.js'

const killAfterCommit = Number(process.env.KILL_AFTER_COMMIT ?? 0)
const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'silent', CACHE: 'off', HTTP_CACHE: 'off' })
const app = await buildApp(config, {
  plugins: [
    writeStrategySetup({
      strategy: 'behind',
      prefix: process.env.WB_PREFIX ?? 'test:strategies:kill',
      writeBehind: {
        consumer: process.env.WB_CONSUMER ?? 'kill-worker',
        batchSize: 25,
        block: 20,
        claimIdle: 1_000,
        claimInterval: 250,
        retryDelay: 10,
        maxRetryDelay: 200,
        afterCommit: () => {
          if (Math.random() < killAfterCommit) process.kill(process.pid, 'SIGKILL')
        },
      },
    }),
  ],
})
await app.listen({ port: 0, host: '127.0.0.1' })
const address = app.server.address()
process.stdout.write(`PORT ${typeof address === 'object' && address !== null ? address.port : 0}\n`)
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0))
})
