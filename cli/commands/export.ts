import { type Command, InvalidArgumentError, Option } from 'commander'
import cliProgress from 'cli-progress'
import fs from 'node:fs'
import { pipeline, Transform } from 'node:stream'

import { loadConfig } from '../../service/src/config.js'
import { createDatabase } from '../../service/src/db/create-database.js'
import { createExportDatabase } from '../../service/src/exports/export-database.js'
import {
  ITEM_EXPORT_COLUMNS,
  itemsCopyQuery,
  itemsQuery,
  itemsVersion,
  type ItemExportRow,
  type ItemsExportFilter,
} from '../../service/src/exports/items-export.js'
import {
  kyselySource,
  parseColumns,
  parseIsoDate,
  pgCopyCsv,
  pipeExport,
  toCsv,
  toNdjson,
  DEFAULT_BATCH_SIZE,
} from '../../src/stream/index.js'

interface ExportFlags {
  format: 'csv' | 'ndjson'
  output?: string
  databaseUrl?: string
  category?: string
  since?: string
  columns?: string
  batchSize: number
  via?: 'cursor' | 'copy'
  neutralize: boolean
  progress: boolean
}

/** How often the progress bar redraws. */
const PROGRESS_INTERVAL_MS = 200

function parseBatchSize(value: string): number {
  const parsed = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value}".`)
  }
  return parsed
}

/**
 * `hotpath export items`: stream the items table to a CSV or NDJSON file in constant memory, with a
 * progress bar (rows/s, ETA from the row count). The file is written as `<file>.partial` and
 * renamed only once complete, so an interrupted export never looks like a whole one.
 */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('Export a table to CSV or NDJSON, streamed in constant memory.')
    .argument('<table>', 'what to export: items', (value: string) => {
      if (value !== 'items') throw new InvalidArgumentError(`only "items" can be exported, got "${value}".`)
      return value
    })
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'ndjson']).default('csv'))
    .option('-o, --output <file>', 'file to write (default: standard output, without progress bar)')
    .option('--database-url <url>', 'database (default: DATABASE_URL or sqlite:data/hotpath.db)')
    .option('--category <name>', 'only items of this category')
    .option('--since <date>', 'only items updated at or after this ISO 8601 date')
    .option('--columns <list>', `comma-separated columns (default: ${ITEM_EXPORT_COLUMNS.join(',')})`)
    .option('--batch-size <rows>', 'rows per cursor round trip', parseBatchSize, DEFAULT_BATCH_SIZE)
    .addOption(
      new Option(
        '--via <path>',
        'PostgreSQL CSV only: COPY … TO STDOUT or a cursor (default: cursor)',
      ).choices(['cursor', 'copy']),
    )
    .option('--no-neutralize', 'CSV: keep cells that start with = + - @ as they are (machine consumers only)')
    .option('--no-progress', 'do not draw a progress bar')
    .action(async (_table: string, flags: ExportFlags) => {
      const filter: ItemsExportFilter = {}
      if (flags.category !== undefined) filter.category = flags.category
      const since = parseIsoDate(flags.since, '--since')
      if (since !== undefined) filter.since = since
      const columns = parseColumns(flags.columns, ITEM_EXPORT_COLUMNS, ITEM_EXPORT_COLUMNS, '--columns')

      const config = loadConfig(process.env, { databaseUrl: flags.databaseUrl })
      const database = await createDatabase(config.database, { poolSize: 2 })
      const exportDb = createExportDatabase(database)
      if (flags.via === 'copy' && (exportDb.dialect !== 'postgres' || flags.format !== 'csv')) {
        await database.close()
        throw new InvalidArgumentError('--via copy needs a PostgreSQL database and --format csv.')
      }
      const handle = await exportDb.acquire()
      const controller = new AbortController()
      const onSignal = () => controller.abort()
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      const showProgress = flags.progress && flags.output !== undefined && process.stderr.isTTY !== false
      const bar = new cliProgress.SingleBar(
        {
          format: 'items [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}',
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
      let timer: NodeJS.Timeout | undefined
      try {
        const { count } = await itemsVersion(exportDb.db, filter)
        let rowsDone: () => number
        let body
        if (flags.via === 'copy') {
          const compiled = itemsCopyQuery(exportDb.db, filter, columns, flags.neutralize)
          let lines = 0
          // COPY hands over bytes, not rows: line breaks approximate the row count (quoted
          // newlines inside cells make it run slightly ahead).
          const counter = new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++
              callback(null, chunk)
            },
          })
          // pipeline, not pipe: destroying the counter must destroy (and cancel) the COPY too.
          body = pipeline(
            pgCopyCsv(exportDb.pool!, compiled, { signal: controller.signal }),
            counter,
            () => {},
          )
          rowsDone = () => Math.max(0, lines - 1)
        } else {
          const rows = kyselySource<ItemExportRow>(itemsQuery(handle.db, exportDb.dialect, filter, columns), {
            batchSize: flags.batchSize,
          })
          const stream =
            flags.format === 'csv'
              ? toCsv(rows, columns, { neutralizeFormulas: flags.neutralize, signal: controller.signal })
              : toNdjson(rows, { signal: controller.signal })
          body = stream
          rowsDone = () => stream.rowCount
        }

        const partial = flags.output === undefined ? undefined : `${flags.output}.partial`
        const destination = partial === undefined ? process.stdout : fs.createWriteStream(partial)
        const started = performance.now()
        if (showProgress) {
          bar.start(count, 0, { rate: 0 })
          timer = setInterval(() => {
            const seconds = (performance.now() - started) / 1000
            const done = rowsDone()
            bar.update(Math.min(done, count), { rate: seconds > 0 ? Math.round(done / seconds) : 0 })
          }, PROGRESS_INTERVAL_MS)
        }
        const outcome = await pipeExport(body, destination, {
          signal: controller.signal,
          onError: (error) => console.error(`hotpath: export failed: ${error.message}`),
        })
        clearInterval(timer)
        const seconds = (performance.now() - started) / 1000
        if (showProgress) {
          bar.update(Math.min(rowsDone(), count), { rate: Math.round(rowsDone() / Math.max(seconds, 1e-3)) })
          bar.stop()
        }
        if (outcome !== 'completed') {
          if (partial !== undefined) await fs.promises.rm(partial, { force: true })
          process.exitCode = 1
          if (outcome === 'aborted') console.error('hotpath: export interrupted; no file written.')
          return
        }
        if (partial !== undefined && flags.output !== undefined) {
          await fs.promises.rename(partial, flags.output)
          const bytes = (await fs.promises.stat(flags.output)).size
          console.error(
            `Exported ${rowsDone()} items to ${flags.output} (${(bytes / 1e6).toFixed(1)} MB) in ` +
              `${seconds.toFixed(1)} s: ${Math.round(rowsDone() / Math.max(seconds, 1e-3))} rows/s, ` +
              `${(bytes / 1e6 / Math.max(seconds, 1e-3)).toFixed(1)} MB/s.`,
          )
        }
      } finally {
        clearInterval(timer)
        bar.stop()
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
        handle.release()
        await database.close()
      }
    })
}
