/**
 * Layering (issue 14): src/ and workers/ against the layer table of
 * scripts/layering/layers.ts, then each rule of scripts/layering/check-layering.ts against a
 * fixture tree (scripts/layering/fixtures/<rule>/) holding the bad import it must catch.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import {
  checkLayering,
  type KnownException,
  type Layering,
  type LayeringRule,
} from '../scripts/layering/check-layering.ts'
import { LAYERING } from '../scripts/layering/layers.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const fixture = (name: string) =>
  fileURLToPath(new URL(`../scripts/layering/fixtures/${name}/`, import.meta.url))
/** The real order and entry points, none of the repository's exceptions. */
const TABLE: Layering = { ...LAYERING, exceptions: [] }

function violationsOf(root: string, layering: Layering = TABLE) {
  return checkLayering(root, layering).violations.map(({ rule, from, to }) => ({ rule, from, to }))
}

test('src/ and workers/ keep the layer order (known exceptions listed in the table)', () => {
  const report = checkLayering(ROOT, LAYERING)
  const byReason = new Map<string, KnownException[]>()
  for (const e of report.excepted) byReason.set(e.reason, [...(byReason.get(e.reason) ?? []), e])
  console.log(
    `layering: ${report.files} files, ${report.imports} imports, ${report.excepted.length} known exceptions` +
      [...byReason]
        .map(([reason, list]) => `\n  ${list[0]?.from} (${list.length}): ${reason}`)
        .join(''),
  )
  expect(report.files).toBeGreaterThan(250)
  expect(report.violations.map((v) => `${v.rule}: ${v.message}`)).toEqual([])
})

describe('each rule fires on a bad import', () => {
  const cases: [LayeringRule, string, { rule: LayeringRule; from: string; to: string }[]][] = [
    [
      'order',
      'a lower folder imports a higher one (import, export from, import()); crypto → b3 passes',
      [
        { rule: 'order', from: 'src/net/libp2p-dialer.ts', to: 'src/client/peer-dialer.ts' },
        { rule: 'order', from: 'src/store/timeouts.ts', to: 'src/client/peer-dialer.ts' },
        { rule: 'order', from: 'src/wire/links.ts', to: 'src/client/peer-dialer.ts' },
      ],
    ],
    [
      'unknown-folder',
      'a folder the table does not place',
      [{ rule: 'unknown-folder', from: 'gadgets', to: '' }],
    ],
    [
      'file-cycle',
      'two files of one folder import each other',
      [
        {
          rule: 'file-cycle',
          from: 'src/node/full-node.ts',
          to: 'src/node/full-node.ts -> src/node/runtime.ts -> src/node/full-node.ts',
        },
      ],
    ],
    [
      'worker-entry',
      'a worker imports a module that is no entry point (its index.ts import passes)',
      [{ rule: 'worker-entry', from: 'workers/b3-worker.ts', to: 'src/b3/kernel.ts' }],
    ],
    [
      'testing-import',
      'product code imports a test helper (a test importing it passes)',
      [
        {
          rule: 'testing-import',
          from: 'src/node/gateway.ts',
          to: 'src/node/testing/free-port.ts',
        },
      ],
    ],
    [
      'test-import',
      'a file imports a test file',
      [{ rule: 'test-import', from: 'src/b3/hash.test.ts', to: 'src/b3/vectors.test.ts' }],
    ],
  ]
  test.each(cases)('%s: %s', (rule, _what, expected) => {
    expect(violationsOf(fixture(rule))).toEqual(expected)
  })

  test('folder-cycle: folders import each other, even through a known exception', () => {
    const layering: Layering = {
      ...TABLE,
      exceptions: [{ from: 'src/net/link.ts', to: 'src/client/session-id.ts', reason: 'fixture' }],
    }
    expect(violationsOf(fixture('folder-cycle'), layering)).toEqual([
      { rule: 'folder-cycle', from: 'client', to: 'client -> net -> client' },
    ])
    // Without the exception the wrong direction itself is reported too.
    expect(violationsOf(fixture('folder-cycle')).map((v) => v.rule)).toEqual([
      'order',
      'folder-cycle',
    ])
  })

  test('stale-exception: an exception for an import that no longer happens', () => {
    const layering: Layering = {
      ...TABLE,
      exceptions: [{ from: 'src/net/link.ts', to: 'src/client/session.ts', reason: 'fixture' }],
    }
    expect(violationsOf(fixture('stale-exception'), layering)).toEqual([
      {
        rule: 'stale-exception',
        from: 'src/net/link.ts',
        to: 'src/client/session.ts',
      },
    ])
  })
})
