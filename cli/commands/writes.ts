import { type Command, InvalidArgumentError } from 'commander'
import { DeadLetters, type DeadLetter } from '../../src/cache/strategies/dead-letters.js'
import { writeBehindKeys } from '../../src/cache/strategies/defaults.js'
import {
  call,
  createStrategyClient,
  type StrategyRedisClient,
} from '../../src/cache/strategies/redis-commands.js'
import {
  DEFAULT_WRITE_BEHIND_PREFIX,
  ITEMS_QUEUE,
} from '../../service/src/write-strategy/write-strategy-plugin.js'

interface QueueFlags {
  redisUrl?: string
  prefix: string
  queue: string
}

interface ListFlags extends QueueFlags {
  count: number
  json: boolean
}

function parsePositive(value: string): number {
  const parsed = Number(value)
  if (!/^\d+$/.test(value) || parsed < 1 || !Number.isSafeInteger(parsed)) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value}".`)
  }
  return parsed
}

async function withDeadLetters<T>(
  flags: QueueFlags,
  run: (dlq: DeadLetters, client: StrategyRedisClient) => Promise<T>,
): Promise<T> {
  let failure: unknown
  const client = createStrategyClient(
    flags.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    (error) => {
      failure ??= error
    },
  )
  try {
    await client.connect()
  } catch (error) {
    client.destroy()
    throw failure ?? error
  }
  try {
    return await run(new DeadLetters(client, writeBehindKeys(flags.prefix, flags.queue)), client)
  } finally {
    client.destroy()
  }
}

function queueOptions(command: Command): Command {
  return command
    .option(
      '--redis-url <url>',
      'Redis of the write-behind queue (default: REDIS_URL or redis://127.0.0.1:6379)',
    )
    .option('--prefix <prefix>', 'key prefix of the queue', DEFAULT_WRITE_BEHIND_PREFIX)
    .option('--queue <name>', 'queue name', ITEMS_QUEUE)
}

function line(letter: DeadLetter): string {
  const when = new Date(letter.failedAt).toISOString()
  return `${letter.deadLetterId}  ${when}  ${letter.op} ${letter.key} v${letter.version}  after ${letter.attempts} attempts: ${letter.error}`
}

/**
 * `hotpath writes stats` and `hotpath writes dlq list|replay|drop`: see how far behind the
 * database is; inspect the writes write-behind set aside after
 * `maxAttempts` failures, put them back into the queue (each keeps its version, so one a newer
 * write superseded is dropped instead), or discard them.
 */
export function registerWritesCommand(program: Command): void {
  const writes = program.command('writes').description('Inspect and repair the write-behind queue.')

  queueOptions(writes.command('stats'))
    .description('Writes waiting for the database, flush lag, dead letters, and the flushers.')
    .option('--json', 'one JSON object', false)
    .action(async (flags: QueueFlags & { json: boolean }) => {
      await withDeadLetters(flags, async (letters, client) => {
        const keys = writeBehindKeys(flags.prefix, flags.queue)
        const [pending, oldest, groups] = await Promise.all([
          call<number>(client, ['XLEN', keys.stream], 5_000, 'stats'),
          call<[string, string[]][]>(client, ['XRANGE', keys.stream, '-', '+', 'COUNT', '1'], 5_000, 'stats'),
          call<unknown[][]>(client, ['XINFO', 'GROUPS', keys.stream], 5_000, 'stats').catch(() => []),
        ])
        const first = oldest[0]
        const flushers = groups.map((group) => {
          const fields = new Map<string, unknown>()
          for (let i = 0; i + 1 < group.length; i += 2) fields.set(String(group[i]), group[i + 1])
          return {
            group: String(fields.get('name')),
            consumers: Number(fields.get('consumers')),
            taken: Number(fields.get('pending')),
          }
        })
        const stats = {
          queue: flags.queue,
          pending: Number(pending),
          lagMs: first === undefined ? 0 : Math.max(0, Date.now() - Number(first[0].split('-')[0])),
          deadLetters: await letters.count(),
          flushers,
        }
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(stats)}\n`)
          return
        }
        process.stdout.write(
          `queue ${stats.queue}: ${stats.pending} pending (oldest ${stats.lagMs} ms), ${stats.deadLetters} dead letters\n`,
        )
        for (const group of flushers) {
          process.stdout.write(
            `group ${group.group}: ${group.consumers} consumers, ${group.taken} taken, not yet acknowledged\n`,
          )
        }
      })
    })
  const dlq = writes
    .command('dlq')
    .description('Dead letters: writes that failed too often to reach the database.')

  queueOptions(dlq.command('list'))
    .description('List dead letters, oldest first.')
    .option('--count <n>', 'how many to show', parsePositive, 100)
    .option('--json', 'one JSON object per line', false)
    .action(async (flags: ListFlags) => {
      await withDeadLetters(flags, async (letters) => {
        const total = await letters.count()
        const shown = await letters.list(flags.count)
        if (flags.json) {
          for (const letter of shown) process.stdout.write(`${JSON.stringify(letter)}\n`)
          return
        }
        for (const letter of shown) process.stdout.write(`${line(letter)}\n`)
        process.stdout.write(
          `${total} dead letter${total === 1 ? '' : 's'}${total > shown.length ? ` (${shown.length} shown)` : ''}\n`,
        )
      })
    })

  queueOptions(dlq.command('replay'))
    .description('Put dead letters (all, or the given ids) back into the write-behind queue.')
    .argument('[ids...]', 'dead-letter ids from `list` (default: all)')
    .action(async (ids: string[], flags: QueueFlags) => {
      await withDeadLetters(flags, async (letters) => {
        const result = await letters.replay(ids.length > 0 ? ids : undefined)
        process.stdout.write(
          `replayed ${result.replayed}, dropped ${result.superseded} superseded by newer writes, ${result.refused} left (queue full)\n`,
        )
        if (result.refused > 0) process.exitCode = 1
      })
    })

  queueOptions(dlq.command('drop'))
    .description('Discard dead letters (all, or the given ids) for good.')
    .argument('[ids...]', 'dead-letter ids from `list` (default: all)')
    .action(async (ids: string[], flags: QueueFlags) => {
      await withDeadLetters(flags, async (letters) => {
        const dropped = await letters.drop(ids.length > 0 ? ids : undefined)
        process.stdout.write(`dropped ${dropped} dead letter${dropped === 1 ? '' : 's'}\n`)
      })
    })
}
