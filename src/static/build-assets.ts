import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { brotliCompress, constants as zlib, gzip } from 'node:zlib'

import { HotpathError } from '../errors.js'

const brotli = promisify(brotliCompress)
const gzipAsync = promisify(gzip)

/** File name of the manifest written next to the hashed files. */
export const MANIFEST_FILE = 'manifest.json'
/** Hex characters of the content hash in a file name (`app.3f9a1c2b.js`). */
export const HASH_LENGTH = 8
/** Extensions that get `.br` and `.gz` variants. */
export const COMPRESSIBLE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.js',
  '.mjs',
  '.css',
  '.html',
  '.svg',
  '.json',
  '.map',
  '.txt',
  '.xml',
  '.wasm',
])

const HASHED_NAME = new RegExp(`\\.[0-9a-f]{${HASH_LENGTH}}\\.[A-Za-z0-9]+$`, 'u')

/** One input of {@link buildAssets}: a directory (copied recursively) or one file under a chosen name. */
export type AssetSource = { dir: string } | { file: string; name?: string }

export interface BuildAssetsOptions {
  /** Inputs; later sources win when two produce the same logical name. */
  sources: readonly AssetSource[]
  /** Output directory (created); hashed files, their `.br`/`.gz` variants and `manifest.json`. */
  outDir: string
  /**
   * Write precompressed `.br` and `.gz` variants of text files (only when smaller).
   * @default true
   */
  compress?: boolean
}

/** `manifest.json`: logical name (`dashboard.js`) → hashed file name (`dashboard.3f9a1c2b.js`). */
export interface AssetManifest {
  readonly files: Readonly<Record<string, string>>
}

/** True for a content-hashed name (`app.3f9a1c2b.js`, also with a `.br` / `.gz` suffix). */
export function isHashedName(file: string): boolean {
  return HASHED_NAME.test(path.basename(file).replace(/\.(br|gz)$/u, ''))
}

/** `dir/app.js` + hash → `dir/app.<hash>.js` (the hash goes before the last extension). */
export function hashedName(logical: string, hash: string): string {
  const extension = path.posix.extname(logical)
  return `${logical.slice(0, logical.length - extension.length)}.${hash}${extension}`
}

/**
 * Copy static assets into `outDir` under content-hashed names, with precompressed `.br` and `.gz`
 * variants and a `manifest.json`, so that they can be served with
 * `Cache-Control: public, max-age=31536000, immutable` (by `staticAssets` or by nginx).
 *
 * Incremental and safe to run concurrently (several workers starting at once): a hashed file
 * that exists already is complete (variants are written first, every file goes through a
 * temporary name and a rename), so it is skipped. Old hashed files are kept, for pages that
 * still reference them.
 *
 * @example
 * const manifest = await buildAssets({ sources: [{ dir: 'public' }], outDir: 'dist/assets/app' })
 * manifest.files['app.js'] // 'app.3f9a1c2b.js'
 */
export async function buildAssets(options: BuildAssetsOptions): Promise<AssetManifest> {
  const outDir = path.resolve(options.outDir)
  const compress = options.compress ?? true
  const inputs = new Map<string, string>()
  for (const source of options.sources) {
    if ('dir' in source) {
      const root = path.resolve(source.dir)
      for (const file of await listFiles(root)) inputs.set(toPosix(path.relative(root, file)), file)
    } else {
      inputs.set(source.name ?? path.basename(source.file), path.resolve(source.file))
    }
  }
  await mkdir(outDir, { recursive: true })
  const files: Record<string, string> = {}
  for (const [logical, file] of [...inputs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const body = await readFile(file)
    const hashed = hashedName(logical, createHash('sha256').update(body).digest('hex').slice(0, HASH_LENGTH))
    files[logical] = hashed
    const target = path.join(outDir, ...hashed.split('/'))
    if (await exists(target)) continue
    await mkdir(path.dirname(target), { recursive: true })
    if (compress && COMPRESSIBLE_EXTENSIONS.has(path.extname(logical).toLowerCase())) {
      const [br, gz] = await Promise.all([
        brotli(body, {
          params: {
            [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
            [zlib.BROTLI_PARAM_SIZE_HINT]: body.length,
          },
        }),
        gzipAsync(body, { level: zlib.Z_BEST_COMPRESSION }),
      ])
      // A variant that is not smaller is not written: the static server then sends the original.
      if (br.length < body.length) await writeAtomically(`${target}.br`, br)
      if (gz.length < body.length) await writeAtomically(`${target}.gz`, gz)
    }
    await writeAtomically(target, body)
  }
  const manifest: AssetManifest = { files }
  const text = `${JSON.stringify(manifest, null, 2)}\n`
  const manifestFile = path.join(outDir, MANIFEST_FILE)
  if ((await readFile(manifestFile, 'utf8').catch(() => null)) !== text) {
    await writeAtomically(manifestFile, text)
  }
  return manifest
}

/** Read the `manifest.json` of a build output directory. @throws HotpathError `E_ASSETS_MISSING` */
export async function readAssetManifest(outDir: string): Promise<AssetManifest> {
  const file = path.join(path.resolve(outDir), MANIFEST_FILE)
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new HotpathError(
      'E_ASSETS_MISSING',
      `No asset manifest at ${file}: run "npm run build:assets" or give the asset sources so they are built at start.`,
      { cause: error },
    )
  }
  const files = (parsed as { files?: unknown } | null)?.files
  if (typeof files !== 'object' || files === null) {
    throw new HotpathError('E_ASSETS_MISSING', `The asset manifest ${file} has no "files" object.`)
  }
  return { files: files as Record<string, string> }
}

async function listFiles(dir: string): Promise<string[]> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    throw new HotpathError('E_ASSETS_MISSING', `Asset source directory ${dir} cannot be read.`, {
      cause: error,
    })
  }
  const files: string[] = []
  for (const entry of entries) {
    // Dotfiles (editor swap files, .DS_Store) are not assets; @fastify/static would not serve them.
    if (entry.name.startsWith('.')) continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) files.push(...(await listFiles(full)))
    else if (entry.isFile()) files.push(full)
  }
  return files
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile()
  } catch {
    return false
  }
}

async function writeAtomically(file: string, body: Buffer | string): Promise<void> {
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  )
  await writeFile(temporary, body)
  await rename(temporary, file)
}

function toPosix(relative: string): string {
  return relative.split(path.sep).join('/')
}
