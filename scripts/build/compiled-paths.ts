/**
 * Paths in tsc's output that still name sources: worker URLs (tsc does not touch strings) and
 * `.ts` specifiers in declaration files (it rewrites them in JavaScript only).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import type { WorkerName } from './worker-bundles.ts'

const WORKER_URL = /new URL\((['"])([^'"]+\.ts)\1(,\s*import\.meta\.url\))/g

function relativeSpecifier(fromFile: string, to: string): string {
  const path = relative(dirname(fromFile), to).split(sep).join('/')
  return path.startsWith('.') ? path : `./${path}`
}

/**
 * Points every `new URL('…/workers/<name>.ts', import.meta.url)` of the compiled JavaScript at
 * the bundle dist/workers/<name>.js, keeping the literal `new Worker(new URL(…))` form bundlers
 * recognise. Throws on a `.ts` URL that is not a bundled worker. Returns "file: old → new" lines.
 */
export function rewriteWorkerUrls(options: {
  readonly root: string
  readonly compiledSrc: string
  readonly workersOut: string
  readonly workers: readonly WorkerName[]
  readonly compiledFiles: readonly string[]
}): string[] {
  const { root, compiledSrc, workersOut, workers, compiledFiles } = options
  const done: string[] = []
  for (const file of compiledFiles) {
    if (!file.endsWith('.js')) continue
    const text = readFileSync(file, 'utf8')
    if (!WORKER_URL.test(text)) continue
    WORKER_URL.lastIndex = 0
    // Where the source sat: the URL was written relative to it.
    const source = join(root, 'src', relative(compiledSrc, file)).replace(/\.js$/, '.ts')
    const rewritten = text.replace(WORKER_URL, (_, quote: string, url: string, tail: string) => {
      const target = resolve(dirname(source), url)
      const name = basename(target, '.ts') as WorkerName
      if (dirname(target) !== join(root, 'workers') || !workers.includes(name))
        throw new Error(`${relative(root, source)}: ${url} is not a bundled worker`)
      const next = relativeSpecifier(file, join(workersOut, `${name}.js`))
      done.push(`${relative(root, file)}: ${url} → ${next}`)
      return `new URL(${quote}${next}${quote}${tail}`
    })
    writeFileSync(file, rewritten)
  }
  return done
}

const DECLARATION_TS_SPECIFIER = /((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\.ts\2/g

/**
 * Rewrites relative `.ts` specifiers in declaration files to `.js` (which a consumer's
 * TypeScript maps to the `.d.ts` beside it): tsc keeps them as written. Returns the count.
 */
export function rewriteDeclarationSpecifiers(compiledFiles: readonly string[]): number {
  let count = 0
  for (const file of compiledFiles) {
    if (!file.endsWith('.d.ts')) continue
    const text = readFileSync(file, 'utf8')
    const rewritten = text.replace(DECLARATION_TS_SPECIFIER, (_, head, quote, path) => {
      count++
      return `${head}${quote}${path}.js${quote}`
    })
    if (rewritten !== text) writeFileSync(file, rewritten)
  }
  return count
}

/** Relative `.ts` specifiers or URLs left anywhere in the compiled JavaScript or declarations. */
export function sourcePathsLeft(compiledFiles: readonly string[]): string[] {
  const left: string[] = []
  const pattern = /(['"])\.{1,2}\/[^'"\n]*\.ts\1/g
  for (const file of compiledFiles) {
    if (!file.endsWith('.js') && !file.endsWith('.d.ts')) continue
    for (const match of readFileSync(file, 'utf8').matchAll(pattern))
      left.push(`${file}: ${match[0]}`)
  }
  return left
}
