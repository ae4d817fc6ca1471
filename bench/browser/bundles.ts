/**
 * Bundle sizes: each entry built by Vite (rolldown) the way an app build would ship it
 * (minified, ES modules, every dependency bundled, exports kept), sizes summed over its
 * chunks, raw and gzip (node:zlib, level 9). Workers an entry starts with `new Worker(new URL
 * ...)` are emitted apart by Vite: they are left out of that entry and measured as entries of
 * their own, so the page client and its worker are separate rows.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { build, type Rolldown } from 'vite'
import type { Figure } from '../shared.ts'

const KiB = 1024

interface Entry {
  readonly name: string
  readonly label: string
  readonly file: string
}

const ENTRIES: readonly Entry[] = [
  { name: 'client', label: 'page client (src/browser/client.ts)', file: 'src/browser/client.ts' },
  {
    name: 'client-worker',
    label: 'client worker (workers/client-worker.ts)',
    file: 'workers/client-worker.ts',
  },
  {
    name: 'service-worker',
    label: 'service worker (workers/fulmen-sw.ts)',
    file: 'workers/fulmen-sw.ts',
  },
  {
    name: 'helia-verified-fetch',
    label: '@helia/verified-fetch (createVerifiedFetch, verifiedFetch)',
    file: 'bench/browser/helia-entry.ts',
  },
]

export interface BundleSize {
  /** What loading the entry fetches: its chunk and the chunks it imports statically. */
  readonly raw: number
  readonly gzip: number
  readonly files: number
  /** Chunks only a dynamic `import()` loads, later and only if needed. */
  readonly lazyRaw: number
  readonly lazyGzip: number
}

/** Builds `file` (relative to `root`) and sums what it ships, workers it spawns aside. */
export async function bundleSize(root: string, file: string): Promise<BundleSize> {
  const result = await build({
    configFile: false,
    root,
    logLevel: 'silent',
    publicDir: false,
    worker: { format: 'es' },
    build: {
      write: false,
      minify: true,
      modulePreload: false,
      reportCompressedSize: false,
      copyPublicDir: false,
      rolldownOptions: {
        input: path.join(root, file),
        preserveEntrySignatures: 'exports-only',
      },
    },
  })
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[]
  const items = outputs
    .flatMap((o) => o.output)
    // A worker Vite emitted for `new Worker(new URL(...))`: measured as its own entry.
    .filter((item) => !(item.type === 'asset' && /worker/i.test(item.fileName)))
  // What the entry loads up front: its chunk and, transitively, its static imports.
  const initial = new Set<string>()
  const queue = items.filter((i) => i.type === 'chunk' && i.isEntry).map((i) => i.fileName)
  while (queue.length > 0) {
    const name = queue.pop()!
    if (initial.has(name)) continue
    initial.add(name)
    const chunk = items.find((i) => i.fileName === name)
    if (chunk?.type === 'chunk') queue.push(...chunk.imports)
  }
  let raw = 0
  let gzip = 0
  let files = 0
  let lazyRaw = 0
  let lazyGzip = 0
  for (const item of items) {
    const bytes =
      item.type === 'chunk'
        ? Buffer.from(item.code)
        : Buffer.from(typeof item.source === 'string' ? item.source : item.source)
    const zipped = gzipSync(bytes, { level: 9 }).length
    if (item.type === 'chunk' && !initial.has(item.fileName)) {
      lazyRaw += bytes.length
      lazyGzip += zipped
      continue
    }
    raw += bytes.length
    gzip += zipped
    files++
  }
  return { raw, gzip, files, lazyRaw, lazyGzip }
}

export async function measureBundles(
  root: string,
): Promise<{ figures: Figure[]; notes: string[] }> {
  const figures: Figure[] = []
  const parts: string[] = []
  for (const entry of ENTRIES) {
    if (!existsSync(path.join(root, entry.file))) {
      parts.push(`${entry.label}: not built (no such file)`)
      continue
    }
    const size = await bundleSize(root, entry.file)
    figures.push({ name: `bundle.${entry.name}.raw`, value: size.raw / KiB, unit: 'KiB' })
    figures.push({ name: `bundle.${entry.name}.gzip`, value: size.gzip / KiB, unit: 'KiB' })
    parts.push(
      `${entry.label} ${(size.raw / KiB).toFixed(1)} KiB minified, ${(size.gzip / KiB).toFixed(1)} KiB gzip (${size.files} file${size.files === 1 ? '' : 's'}` +
        (size.lazyRaw > 0
          ? `; plus ${(size.lazyGzip / KiB).toFixed(1)} KiB gzip loaded lazily by import()`
          : '') +
        ')',
    )
  }
  const byName = new Map(figures.map((f) => [f.name, f.value]))
  for (const kind of ['raw', 'gzip'] as const) {
    const client = byName.get(`bundle.client.${kind}`)
    const worker = byName.get(`bundle.client-worker.${kind}`)
    if (client !== undefined && worker !== undefined)
      figures.push({ name: `bundle.client-total.${kind}`, value: client + worker, unit: 'KiB' })
  }
  return {
    figures,
    notes: [
      `Bundles (vite build, rolldown, minified, ES modules, every dependency bundled, exports kept; gzip -9 by node:zlib; a worker an entry spawns is measured as its own entry): ${parts.join('; ')}.`,
    ],
  }
}
