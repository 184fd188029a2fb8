import { access } from 'node:fs/promises'
import path from 'node:path'

import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'

import {
  buildAssets,
  isHashedName,
  readAssetManifest,
  type AssetManifest,
  type AssetSource,
} from '../static/build-assets.js'

/** `Cache-Control` of content-hashed files: their URL changes whenever their bytes do. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable'
/** `Cache-Control` of every other file (the manifest): always revalidate (ETag / Last-Modified). */
export const REVALIDATE_CACHE_CONTROL = 'public, no-cache'

export interface StaticAssetsOptions {
  /** Build output directory to serve: hashed files, `.br` / `.gz` variants, `manifest.json`. */
  root: string
  /**
   * Sources built into `root` at registration (incremental: unchanged files are not rewritten),
   * so a server works without a prior build step. Sources that do not exist are skipped when
   * `root` already holds a build (an installed package ships the build, not the sources).
   * @default undefined (serve `root` as built by `buildAssets` / `npm run build:assets`)
   */
  sources?: readonly AssetSource[]
  /**
   * URL prefix the files are served under.
   * @default '/assets/'
   */
  prefix?: string
  /**
   * Called with the manifest once it is known (to render pages that reference hashed names).
   * @default undefined
   */
  onManifest?: (manifest: AssetManifest) => void
}

/**
 * The manifest of a build output directory, building it from `sources` first when they exist.
 *
 * @example
 * const manifest = await prepareAssets('dist/assets/app', [{ dir: 'public' }])
 */
export async function prepareAssets(
  root: string,
  sources: readonly AssetSource[] | undefined,
): Promise<AssetManifest> {
  if (sources !== undefined && sources.length > 0) {
    const present = await Promise.all(
      sources.map((source) => canRead('dir' in source ? source.dir : source.file)),
    )
    if (present.every(Boolean)) return buildAssets({ sources, outDir: root })
  }
  return readAssetManifest(root)
}

function setCacheHeaders(reply: FastifyReply, file: string): void {
  reply.header('cache-control', isHashedName(file) ? IMMUTABLE_CACHE_CONTROL : REVALIDATE_CACHE_CONTROL)
}

const plugin: FastifyPluginAsync<StaticAssetsOptions> = async (fastify, options) => {
  if (typeof options.root !== 'string' || options.root === '') {
    throw new TypeError('staticAssets: "root" must be the build output directory to serve')
  }
  const prefix = options.prefix ?? '/assets/'
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) {
    throw new TypeError(`staticAssets: "prefix" must start and end with "/", got ${JSON.stringify(prefix)}`)
  }
  const root = path.resolve(options.root)
  const manifest = await prepareAssets(root, options.sources)
  options.onManifest?.(manifest)
  await fastify.register(fastifyStatic, {
    root,
    prefix,
    // Several instances may be registered (the dashboard's, the app's): none owns reply.sendFile.
    decorateReply: false,
    // `.br` / `.gz` siblings are chosen by Accept-Encoding; `Vary: Accept-Encoding` is added.
    preCompressed: true,
    cacheControl: false,
    etag: true,
    lastModified: true,
    index: false,
    setHeaders: setCacheHeaders,
  })
}

async function canRead(file: string): Promise<boolean> {
  try {
    await access(file)
    return true
  } catch {
    return false
  }
}

/**
 * Fastify plugin: serve a directory of content-hashed static assets (see `buildAssets`) with
 * `@fastify/static`: `Cache-Control: public, max-age=31536000, immutable` on hashed names,
 * `no-cache` otherwise, precompressed `.br` / `.gz` variants chosen by `Accept-Encoding` with
 * `Vary: Accept-Encoding`, ETag / Last-Modified and 304 on revalidation.
 *
 * @example
 * await app.register(staticAssets, {
 *   root: 'dist/assets/app',
 *   sources: [{ dir: 'public' }],
 *   prefix: '/static/',
 *   onManifest: (manifest) => (appJs = `/static/${manifest.files['app.js']}`),
 * })
 */
export const staticAssets = fp(plugin, { fastify: '5.x', name: 'hotpath-static-assets' })
