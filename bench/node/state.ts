/**
 * The state section (issue 15's target): a state tree of `entries` entries on LevelDB, built
 * in commits, then overwritten in smaller commits; proofs of present and absent keys, their
 * sizes, and their verification in Node and Chromium (bench/state-verify.ts).
 *
 * Peers: the same entries written to a plain LevelDB (the table's key → value, batches of the
 * same size) for building and updating; one BLAKE3 hash of as many bytes for verifying.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { KvOperation } from '../../src/kv/kv-store.ts'
import { openLevelKvStore } from '../../src/kv/level-kv-store.ts'
import { type StateChange, StateTree } from '../../src/state/state-tree.ts'
import { type Figure, fillPseudoRandom, toHex } from '../shared.ts'
import { measureStateVerify, type StateClaim, type StateVerifyConfig } from '../state-verify.ts'

export interface StateBenchOptions {
  readonly entries: number
  /** Entries per commit while building (and per LevelDB batch of the peer). */
  readonly commitSize: number
  /** Entries overwritten after the build, in commits of `updateCommitSize`. */
  readonly updates: number
  readonly updateCommitSize: number
  /** Present and absent keys proven (each). */
  readonly proofs: number
  readonly rounds: number
  readonly chromium: boolean
  readonly log: (line: string) => void
}

const TABLE = 'accounts'

function keyOf(i: number): Uint8Array {
  const key = new Uint8Array(20) // an account address's length
  new DataView(key.buffer).setUint32(16, i)
  return key
}

/** A 40-byte account-like value, different per entry and per round. */
function entryValue(i: number, round: number): Uint8Array {
  return fillPseudoRandom(new Uint8Array(40), (i * 2654435761 + round * 97 + 1) >>> 0)
}

function changesOf(from: number, to: number, round: number, pick: (n: number) => number) {
  const changes: StateChange[] = []
  for (let n = from; n < to; n++) {
    const i = pick(n)
    changes.push({ table: TABLE, key: keyOf(i), value: entryValue(i, round) })
  }
  return changes
}

function levelOps(changes: readonly StateChange[]): KvOperation[] {
  const name = new TextEncoder().encode(TABLE)
  return changes.map((c) => {
    const key = new Uint8Array(name.length + c.key.length)
    key.set(name)
    key.set(c.key, name.length)
    return { type: 'put', key, value: c.value as Uint8Array }
  })
}

export async function measureState(
  options: StateBenchOptions,
): Promise<{ figures: Figure[]; notes: string[] }> {
  const { entries, commitSize, updates, updateCommitSize, log } = options
  const base = mkdtempSync(join(tmpdir(), 'fulmen-bench-state-'))
  const figures: Figure[] = []
  const notes: string[] = []
  // Overwrites spread over the whole table (a multiplicative walk), the same in both runs.
  const spread = (n: number) => (n * 7919 + 13) % entries
  try {
    // The peer first: a plain LevelDB write loop of the same entries, same batches.
    const plain = await openLevelKvStore({ dir: join(base, 'plain') })
    let t0 = performance.now()
    for (let from = 0; from < entries; from += commitSize) {
      await plain.batch(
        levelOps(changesOf(from, Math.min(entries, from + commitSize), 0, (n) => n)),
      )
    }
    const plainBuild = entries / ((performance.now() - t0) / 1000)
    t0 = performance.now()
    for (let from = 0; from < updates; from += updateCommitSize) {
      const to = Math.min(updates, from + updateCommitSize)
      await plain.batch(levelOps(changesOf(from, to, 1, spread)))
    }
    const plainUpdate = updates / ((performance.now() - t0) / 1000)
    await plain.close()
    log(
      `state: plain LevelDB ${plainBuild.toFixed(0)} entries/s building, ${plainUpdate.toFixed(0)} updating`,
    )

    const store = await openLevelKvStore({ dir: join(base, 'tree') })
    const tree = await StateTree.open(store)
    t0 = performance.now()
    for (let from = 0; from < entries; from += commitSize) {
      await tree.commit(changesOf(from, Math.min(entries, from + commitSize), 0, (n) => n))
      if ((from / commitSize) % 20 === 0) log(`state: ${from + commitSize} entries committed`)
    }
    const treeBuild = entries / ((performance.now() - t0) / 1000)
    t0 = performance.now()
    for (let from = 0; from < updates; from += updateCommitSize) {
      const to = Math.min(updates, from + updateCommitSize)
      await tree.commit(changesOf(from, to, 1, spread))
    }
    const treeUpdate = updates / ((performance.now() - t0) / 1000)
    log(`state: tree ${treeBuild.toFixed(0)} entries/s building, ${treeUpdate.toFixed(0)} updating`)
    figures.push(
      { name: 'state.build.tree', value: treeBuild, unit: 'entries/s' },
      { name: 'state.build.level', value: plainBuild, unit: 'entries/s' },
      { name: 'state.update.tree', value: treeUpdate, unit: 'entries/s' },
      { name: 'state.update.level', value: plainUpdate, unit: 'entries/s' },
    )

    // Proofs: keys spread over the table, and as many absent keys.
    const claims: StateClaim[] = []
    const sizes = { present: [] as number[], absent: [] as number[] }
    const t1 = performance.now()
    for (let n = 0; n < options.proofs; n++) {
      for (const i of [spread(n * 31 + 5), entries + n]) {
        const key = keyOf(i)
        const { value, proof } = await tree.prove(TABLE, key)
        sizes[value === undefined ? 'absent' : 'present'].push(proof.length)
        claims.push({
          key: toHex(key),
          value: value === undefined ? null : toHex(value),
          proof: toHex(proof),
        })
      }
    }
    const proveMicros = ((performance.now() - t1) * 1000) / claims.length
    const max = (xs: number[]) => Math.max(...xs)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    figures.push(
      { name: 'state.proof.present.max-bytes', value: max(sizes.present), unit: 'B' },
      { name: 'state.proof.present.mean-bytes', value: mean(sizes.present), unit: 'B' },
      { name: 'state.proof.absent.max-bytes', value: max(sizes.absent), unit: 'B' },
      { name: 'state.proof.budget-bytes', value: 1024, unit: 'B' },
      { name: 'state.prove.node', value: proveMicros, unit: 'µs' },
    )
    notes.push(
      `State proofs: ${sizes.present.length} present and ${sizes.absent.length} absent keys of a ` +
        `${entries.toLocaleString('en-US')}-entry table; present ${mean(sizes.present).toFixed(0)} B mean, ` +
        `${max(sizes.present)} B max; absent ${mean(sizes.absent).toFixed(0)} B mean, ${max(sizes.absent)} B max; ` +
        `making one (LevelDB, node cache warm) ${proveMicros.toFixed(0)} µs. Root ${toHex(tree.root)}.`,
    )
    await store.close()

    const config: StateVerifyConfig = {
      root: toHex(tree.root),
      table: TABLE,
      claims,
      rounds: options.rounds,
    }
    const node = measureStateVerify(config)
    if (!node.allVerified) notes.push('State proofs: some proof did NOT verify in Node')
    figures.push(
      { name: 'state.verify.node', value: node.verifyMicros, unit: 'µs' },
      { name: 'state.verify.node-hash', value: node.hashMicros, unit: 'µs' },
    )
    if (options.chromium) {
      try {
        const { runStateChromium: runInChromium } = await import('../browser/state-driver.ts')
        const chromium = await runInChromium(config, log)
        if (!chromium.allVerified) notes.push('State proofs: some proof did NOT verify in Chromium')
        figures.push(
          { name: 'state.verify.chromium', value: chromium.verifyMicros, unit: 'µs' },
          { name: 'state.verify.chromium-hash', value: chromium.hashMicros, unit: 'µs' },
        )
      } catch (e) {
        notes.push(`State proofs in Chromium failed: ${(e as Error).message.split('\n')[0]}`)
        log(`state chromium failed: ${(e as Error).stack}`)
      }
    }
    return { figures, notes }
  } finally {
    rmSync(base, { recursive: true, force: true })
  }
}

/** The section's rows for bench/run.ts: a figure, its peer, their ratio, the targets. */
export function stateComparisons(entries: number, commitSize: number, updateCommitSize: number) {
  const section = `State (issue 15): a ${entries.toLocaleString('en-US')}-entry table on LevelDB, proofs of it`
  return [
    {
      section,
      label: `build, commits of ${commitSize.toLocaleString('en-US')} (root each) vs plain LevelDB batches`,
      figure: 'state.build.tree',
      peer: 'state.build.level',
      ratio: 'state.ratio.build/level',
    },
    {
      section,
      label: `overwrite at full size, commits of ${updateCommitSize.toLocaleString('en-US')} vs plain LevelDB`,
      figure: 'state.update.tree',
      peer: 'state.update.level',
      ratio: 'state.ratio.update/level',
    },
    {
      section,
      label: 'largest proof of presence vs the 1 KiB budget',
      figure: 'state.proof.present.max-bytes',
      peer: 'state.proof.budget-bytes',
      ratio: 'state.ratio.present-proof/budget',
      target: { text: '≤ 1 KiB', met: (_r: number, f: number) => f <= 1024 },
    },
    {
      section,
      label: 'largest proof of absence vs the 1 KiB budget',
      figure: 'state.proof.absent.max-bytes',
      peer: 'state.proof.budget-bytes',
      ratio: 'state.ratio.absent-proof/budget',
      target: { text: '≤ 1 KiB', met: (_r: number, f: number) => f <= 1024 },
    },
    {
      section,
      label: 'verify one proof in Node vs hashing its bytes (time)',
      figure: 'state.verify.node',
      peer: 'state.verify.node-hash',
      ratio: 'state.ratio.verify/hash-node',
    },
    {
      section,
      label: 'verify one proof in Chromium vs hashing its bytes (time)',
      figure: 'state.verify.chromium',
      peer: 'state.verify.chromium-hash',
      ratio: 'state.ratio.verify/hash-chromium',
      target: { text: '≤ 2 ms', met: (_r: number, f: number) => f <= 2000 },
    },
  ]
}
