/**
 * The README shows the examples' files as they are: the consumer test runs examples/, so a
 * snippet that drifted from its file would be an untested one.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ROOT } from './testing/consumer.ts'

const SNIPPETS = [
  'examples/node-fetch/fetch.ts',
  'examples/vite-dapp/vite.config.ts',
  'examples/vite-dapp/src/main.ts',
  'examples/service-worker/src/main.ts',
]

/** The contents of every fenced code block of `markdown`. */
function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map((m) => m[1]!)
}

describe('the README', () => {
  const blocks = codeBlocks(readFileSync(`${ROOT}README.md`, 'utf8'))

  it.each(SNIPPETS)('shows %s verbatim in a code block', (file) => {
    const text = readFileSync(`${ROOT}${file}`, 'utf8')
    expect(blocks).toContain(text)
  })

  it('links the error-code table', () => {
    expect(readFileSync(`${ROOT}README.md`, 'utf8')).toContain('(docs/errors.md)')
  })
})
