/**
 * docs/errors.md is hand-written; this keeps it current. Every error code the sources define
 * (the members of the exported `…Code` unions, and codes given inline: `code: 'X'`,
 * `new XError('X', …)`, `startError(…, 'X')`) has exactly one row there, and every row names a
 * code that still exists in the sources.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Shipped sources: src/ and workers/, without tests, test support and the devnet (not shipped). */
function sourceFiles(): string[] {
  return ['src', 'workers'].flatMap((dir) =>
    readdirSync(`${ROOT}${dir}`, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .filter((f) => !f.split('/').includes('testing'))
      .filter((f) => !(dir === 'src' && f.startsWith('devnet/')))
      .map((f) => `${ROOT}${dir}/${f}`),
  )
}

/** Members of every exported type alias named `…Code` that is a union of string literals. */
function codeUnions(files: readonly string[]): Map<string, string[]> {
  const unions = new Map<string, string[]>()
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
    for (const statement of source.statements) {
      if (!ts.isTypeAliasDeclaration(statement) || !statement.name.text.endsWith('Code')) continue
      if (!statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue
      const members = ts.isUnionTypeNode(statement.type) ? statement.type.types : [statement.type]
      const codes = members.flatMap((t) =>
        ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal) ? [t.literal.text] : [],
      )
      if (codes.length > 0) unions.set(statement.name.text, codes)
    }
  }
  return unions
}

/**
 * Strings that are not codes Fulmen defines: environment variables, and the codes of Node
 * (`ERR_…`) and classic-level (`LEVEL_…`) that the sources only compare against.
 */
const NOT_OURS = /^(FULMEN_|ERR_|LEVEL_)/

/** Every code-shaped string literal (`'A_B'`), and one-word ones given as a `code`. */
function inlineCodes(files: readonly string[]): Set<string> {
  const codes = new Set<string>()
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)) codes.add(m[1]!)
    for (const m of text.matchAll(/\bcode\s*(?::|=|\?\?)\s*'([A-Z][A-Z0-9]+)'/g)) codes.add(m[1]!)
  }
  return new Set([...codes].filter((c) => !NOT_OURS.test(c)))
}

/** The code of every table row whose first cell is one backticked code (Biome pads cells). */
function documentedCodes(markdown: string): string[] {
  return [...markdown.matchAll(/^\| `([A-Z][A-Z0-9_]*)` +\|/gm)].map((m) => m[1]!)
}

describe('docs/errors.md', () => {
  const files = sourceFiles()
  const unions = codeUnions(files)
  const inline = inlineCodes(files)
  const rows = documentedCodes(readFileSync(`${ROOT}docs/errors.md`, 'utf8'))
  const documented = new Set(rows)

  it('finds the public error-code unions in the sources', () => {
    // Guards the scanner itself: if these go missing, the checks below check nothing.
    for (const name of [
      'FetchErrorCode',
      'NodeFailureCode',
      'ClientOptionsErrorCode',
      'B3ErrorCode',
      'CryptoErrorCode',
      'SwErrorCode',
      'TabNodeErrorCode',
      'SessionErrorCode',
    ]) {
      expect(unions.get(name)?.length ?? 0, name).toBeGreaterThan(1)
    }
    expect(unions.get('B3ErrorCode')).toContain('B3_BLOCK_MISMATCH')
    expect(inline).toContain('INTERNAL') // a one-word code, given inline as `code: 'INTERNAL'`
    expect(inline).toContain('NODE_PORT_IN_USE') // passed to a helper, not to an Error class
  })

  it('documents every member of every exported code union', () => {
    const missing = [...unions].flatMap(([name, codes]) =>
      codes.filter((c) => !documented.has(c)).map((c) => `${name}: ${c}`),
    )
    expect(missing).toEqual([])
  })

  it('documents every code given inline in the sources', () => {
    expect([...inline].filter((c) => !documented.has(c)).sort()).toEqual([])
  })

  it('documents only codes that exist, each once', () => {
    const known = new Set([...inline, ...[...unions.values()].flat()])
    expect(rows.filter((c) => !known.has(c))).toEqual([])
    expect(rows.filter((c, i) => rows.indexOf(c) !== i)).toEqual([])
  })
})
