/**
 * The layering check: every import, `export … from` and `import()` of the TypeScript files in
 * `src/` and `workers/` under a root, against a `Layering` table (scripts/layering/layers.ts).
 * Rules, each a `LayeringRule`:
 * - `order`: a product file imports only its own folder or a folder listed before it;
 * - `unknown-folder`: every folder of `src/` is in the table (a new folder takes its place);
 * - `folder-cycle`: no cycle between folders (product imports, known exceptions included);
 * - `file-cycle`: no cycle between files (every import, tests included);
 * - `worker-entry`: workers/ import only entry points (an index.ts or a listed module);
 * - `testing-import`: product code never imports a test helper (a `testing/` folder);
 * - `test-import`: nothing imports a test file;
 * - `stale-exception`: each known exception still happens (the table stays honest).
 * Test files and `testing/` helpers may import any folder: they drive the layers from outside.
 * Bare specifiers (packages, `node:*`) are not ours and are skipped.
 *
 * Why not Biome's `noRestrictedImports`: its patterns match the specifier's text, not the file
 * it resolves to (`../client/x.ts` from src/net, `../../client/x.ts` from src/browser/node),
 * so each folder would need its own list of every later folder at every depth, and it knows
 * neither an order nor cycles. TypeScript's `preProcessFile` reads the specifiers (comments
 * and strings are not mistaken for imports).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, posix, relative, sep } from 'node:path'
import ts from 'typescript'

export interface Layering {
  /** Folder names of `src/`, lowest first: the order counts, the grouping is DESIGN.md's. */
  order: readonly (readonly string[])[]
  /** Root-relative path → the folder a file belongs to when it is not in it yet. */
  placement: Readonly<Record<string, string>>
  /** Modules besides every `index.ts` of `src/` that workers/ may import. */
  entryPoints: readonly string[]
  /** Imports tolerated for now (root-relative paths), each with why. */
  exceptions: readonly KnownException[]
}

export interface KnownException {
  from: string
  to: string
  reason: string
}

export type LayeringRule =
  | 'order'
  | 'unknown-folder'
  | 'folder-cycle'
  | 'file-cycle'
  | 'worker-entry'
  | 'testing-import'
  | 'test-import'
  | 'stale-exception'

export interface LayeringViolation {
  rule: LayeringRule
  /** Root-relative file (or folder, for `unknown-folder`), the importer for import rules. */
  from: string
  /** The imported file; for a cycle, its path from `from` back to `from`. */
  to: string
  message: string
}

export interface LayeringReport {
  files: number
  imports: number
  violations: LayeringViolation[]
  /** Exceptions that matched an import this run. */
  excepted: KnownException[]
}

type Kind = 'product' | 'testing' | 'test' | 'worker'

interface SourceFile {
  path: string
  kind: Kind
  /** The `src/` folder it belongs to; '' for workers/. */
  folder: string
}

interface Edge {
  from: SourceFile
  to: SourceFile
}

export function checkLayering(root: string, layering: Layering): LayeringReport {
  const files = new Map<string, SourceFile>()
  for (const top of ['src', 'workers']) {
    for (const path of listTypeScript(root, top)) files.set(path, classify(path, layering))
  }
  const edges: Edge[] = []
  for (const file of files.values()) {
    for (const target of importsOf(root, file.path)) {
      const to = files.get(target)
      if (to !== undefined) edges.push({ from: file, to })
    }
  }

  const positionOf = new Map(layering.order.flat().map((folder, position) => [folder, position]))
  const exceptionKey = (from: string, to: string) => `${from} -> ${to}`
  const exceptions = new Map(layering.exceptions.map((e) => [exceptionKey(e.from, e.to), e]))
  const used = new Set<string>()
  const violations: LayeringViolation[] = []
  const report = (rule: LayeringRule, from: string, to: string, message: string) => {
    const key = exceptionKey(from, to)
    if (exceptions.has(key)) used.add(key)
    else violations.push({ rule, from, to, message })
  }

  const folders = new Set([...files.values()].map((f) => f.folder).filter((f) => f !== ''))
  for (const folder of [...folders].sort()) {
    if (!positionOf.has(folder)) {
      violations.push({
        rule: 'unknown-folder',
        from: folder,
        to: '',
        message: `src/${folder} is not in the layer table: give it its place`,
      })
    }
  }

  for (const { from, to } of edges) {
    if (to.kind === 'test') {
      report('test-import', from.path, to.path, `${from.path} imports the test file ${to.path}`)
      continue
    }
    if (from.kind === 'worker') {
      if (!isEntryPoint(to.path, layering)) {
        report(
          'worker-entry',
          from.path,
          to.path,
          `${from.path} imports ${to.path}, not an entry point (an index.ts or a listed module)`,
        )
      }
      continue
    }
    if (from.kind !== 'product') continue
    if (to.kind === 'testing') {
      report(
        'testing-import',
        from.path,
        to.path,
        `${from.path} imports the test helper ${to.path}`,
      )
      continue
    }
    if (to.kind === 'worker') {
      report('order', from.path, to.path, `${from.path} imports the worker ${to.path}`)
      continue
    }
    if (from.folder === to.folder) continue
    const fromPosition = positionOf.get(from.folder)
    const toPosition = positionOf.get(to.folder)
    if (fromPosition === undefined || toPosition === undefined) continue // unknown-folder says it
    if (toPosition > fromPosition) {
      report(
        'order',
        from.path,
        to.path,
        `${from.path} (${from.folder}) imports ${to.path} (${to.folder}): a folder imports only from folders listed before it`,
      )
    }
  }

  // Folders: product imports between folders, excepted ones included (an exception tolerates
  // a wrong direction for now, never a cycle). Files: every import.
  const productEdges = edges.filter(
    ({ from, to }) => from.kind === 'product' && to.kind === 'product' && from.folder !== to.folder,
  )
  const cycleChecks = [
    { rule: 'folder-cycle', what: 'folders', graph: graphOf(productEdges, (f) => f.folder) },
    { rule: 'file-cycle', what: 'files', graph: graphOf(edges, (f) => f.path) },
  ] as const
  for (const { rule, what, graph } of cycleChecks) {
    for (const cycle of cyclesOf(graph)) {
      const path = cycle.join(' -> ')
      violations.push({
        rule,
        from: cycle[0] ?? '',
        to: path,
        message: `${what} in an import cycle: ${path}`,
      })
    }
  }

  for (const [key, exception] of exceptions) {
    if (used.has(key)) continue
    violations.push({
      rule: 'stale-exception',
      from: exception.from,
      to: exception.to,
      message: `known exception ${key} no longer happens: remove it from the table`,
    })
  }

  return {
    files: files.size,
    imports: edges.length,
    violations,
    excepted: layering.exceptions.filter((e) => used.has(exceptionKey(e.from, e.to))),
  }
}

function listTypeScript(root: string, top: string): string[] {
  const dir = join(root, top)
  if (!existsSync(dir)) return []
  const found: string[] = []
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue
    found.push(toPosix(relative(root, join(entry.parentPath, entry.name))))
  }
  return found.sort()
}

function classify(path: string, layering: Layering): SourceFile {
  const parts = path.split('/')
  if (parts[0] === 'workers') return { path, kind: 'worker', folder: '' }
  const folder = layering.placement[path] ?? (parts.length === 2 ? 'index' : (parts[1] ?? ''))
  const kind: Kind = path.endsWith('.test.ts')
    ? 'test'
    : parts.includes('testing')
      ? 'testing'
      : 'product'
  return { path, kind, folder }
}

function isEntryPoint(path: string, layering: Layering): boolean {
  return (
    (path.startsWith('src/') && posix.basename(path) === 'index.ts') ||
    layering.entryPoints.includes(path)
  )
}

/** Relative specifiers of one file, resolved to root-relative paths. */
function importsOf(root: string, path: string): string[] {
  const text = readFileSync(join(root, path), 'utf8')
  const { importedFiles } = ts.preProcessFile(text, true, true)
  const targets: string[] = []
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('./') && !fileName.startsWith('../')) continue
    targets.push(posix.normalize(posix.join(posix.dirname(path), fileName)))
  }
  return targets
}

/** The graph of `edges` with each end named by `nameOf`. */
function graphOf(edges: readonly Edge[], nameOf: (file: SourceFile) => string) {
  const graph = new Map<string, Set<string>>()
  for (const { from, to } of edges) {
    const next = graph.get(nameOf(from)) ?? new Set<string>()
    next.add(nameOf(to))
    graph.set(nameOf(from), next)
  }
  return graph
}

/** Every strongly connected component with more than one node, or a node importing itself. */
function cyclesOf(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  // Tarjan's algorithm, iterative enough for a few hundred files by recursion.
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  const visit = (node: string) => {
    index.set(node, counter)
    low.set(node, counter)
    counter++
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0))
      }
    }
    if (low.get(node) !== index.get(node)) return
    const component: string[] = []
    for (;;) {
      const member = stack.pop() as string
      onStack.delete(member)
      component.push(member)
      if (member === node) break
    }
    if (component.length > 1 || graph.get(node)?.has(node)) components.push(component)
  }
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node)
  return components.map((component) => cycleThrough(graph, component))
}

/** One cycle inside a strongly connected component, from its first member (sorted) back to it. */
function cycleThrough(graph: ReadonlyMap<string, ReadonlySet<string>>, component: string[]) {
  const members = new Set(component)
  const start = [...members].sort()[0] as string
  // Breadth first from start: the shortest way back names the fewest files.
  const cameFrom = new Map<string, string>()
  const queue = [start]
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i] as string
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (!members.has(next)) continue
      if (next === start) {
        const path = [start]
        for (
          let at: string | undefined = node;
          at !== start && at !== undefined;
          at = cameFrom.get(at)
        ) {
          path.splice(1, 0, at)
        }
        return [...path, start]
      }
      if (cameFrom.has(next)) continue
      cameFrom.set(next, node)
      queue.push(next)
    }
  }
  return [start, start]
}

function toPosix(path: string): string {
  return path.split(sep).join('/')
}
