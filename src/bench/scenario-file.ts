import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { BenchScenarioError } from '../errors.js'
import { resolveScenario, type ResolvedScenario } from './scenario.js'

/**
 * Load and validate a scenario file: JSON, or a TS/JS module whose default export (or `scenario`
 * export) is the scenario. TS files are loaded through `tsx` when it is installed.
 *
 * @example
 * const scenario = await loadScenarioFile('bench/scenarios/read-heavy.json')
 */
export async function loadScenarioFile(file: string): Promise<ResolvedScenario> {
  const absolute = path.resolve(file)
  const extension = path.extname(absolute).toLowerCase()
  let raw: unknown
  if (extension === '.json') {
    let text: string
    try {
      text = await readFile(absolute, 'utf8')
    } catch (error) {
      throw new BenchScenarioError('(file)', file, 'a readable scenario file', { cause: error })
    }
    try {
      raw = JSON.parse(text)
    } catch (error) {
      throw new BenchScenarioError('(file)', file, `valid JSON (${(error as Error).message})`, {
        cause: error,
      })
    }
  } else if (['.ts', '.mts', '.cts', '.js', '.mjs'].includes(extension)) {
    raw = await importScenarioModule(absolute, extension)
  } else {
    throw new BenchScenarioError('(file)', file, 'a .json, .ts or .js scenario file')
  }
  return resolveScenario(raw)
}

async function importScenarioModule(absolute: string, extension: string): Promise<unknown> {
  let module: Record<string, unknown>
  try {
    if (extension.endsWith('ts')) {
      let tsImport: (specifier: string, parent: string) => Promise<Record<string, unknown>>
      try {
        ;({ tsImport } = (await import('tsx/esm/api')) as unknown as { tsImport: typeof tsImport })
      } catch (error) {
        throw new BenchScenarioError('(file)', absolute, 'a JSON or JS file, or install "tsx" to load TS', {
          cause: error,
        })
      }
      module = await tsImport(pathToFileURL(absolute).href, import.meta.url)
    } else {
      module = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>
    }
  } catch (error) {
    if (error instanceof BenchScenarioError) throw error
    throw new BenchScenarioError('(file)', absolute, `a module that loads (${(error as Error).message})`, {
      cause: error,
    })
  }
  let value = module.default ?? module.scenario
  // tsImport of a CommonJS-looking module nests the default export one level deeper.
  if (typeof value === 'object' && value !== null && 'default' in value && !('requests' in value)) {
    value = (value as { default: unknown }).default
  }
  if (value === undefined) {
    throw new BenchScenarioError(
      '(file)',
      absolute,
      'a module with a default export (or `export const scenario`)',
    )
  }
  return value
}
