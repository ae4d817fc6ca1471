/**
 * The chain section (issue 15's execution targets): signed transfers and delivery-claim
 * settlements executed by `StateExecutor` on LevelDB, the state root updated per block, and
 * where a block's time goes.
 *
 * (a) Transfers among `accounts` funded accounts, in blocks of `blockSize` (each account sends
 *     one transfer per block and receives one), pre-signed before the clock starts; executed
 *     once with every signature checked (secp256k1 recovery) and once with the signatures
 *     pre-verified (`ExecuteOptions.verified`, as a node whose mempool checked them at
 *     admission does). Peer: a plain LevelDB write loop of the same records the blocks change
 *     (the accounts and executed digests, the metadata), one batch per block.
 * (b) SubmitDeliveryClaims of `claimsPerTx` claims each (native EdDSA-Poseidon signature and
 *     hash-chain checks per claim). Peer: the same records written to plain LevelDB.
 * (c) The executor's steps run one by one on the same blocks (BlockState + applyTransaction,
 *     StateTree.commit, the block record), over a store that times its reads and batches.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { checkClaims, decodeClaim, verifyClaim } from '../../src/acks/claim.ts'
import { clientKeyFromPrivate } from '../../src/crypto/client-key.ts'
import type {
  KvCallOptions,
  KvChange,
  KvOperation,
  KvRange,
  KvSnapshot,
  KvStore,
} from '../../src/kv/kv-store.ts'
import { openLevelKvStore } from '../../src/kv/level-kv-store.ts'
import { nativeRecover } from '../../src/node/chain/native-secp256k1.ts'
import { encodeExecutedBlock, executedBlockOf } from '../../src/state/block.ts'
import { type BlockContext, BlockState, metadataOf } from '../../src/state/block-state.ts'
import { StateExecutor } from '../../src/state/executor.ts'
import {
  type BlockBody,
  type ExecutedBlock,
  type Genesis,
  ONE_TOKEN,
  type Receipt,
  type TableName,
} from '../../src/state/model.ts'
import { StateTree } from '../../src/state/state-tree.ts'
import { encodeEntry, METADATA_KEY, TABLES } from '../../src/state/tables.ts'
import {
  accountTx,
  fixedSecret,
  makeClaim,
  nodeTx,
  type TestAccount,
  testAccount,
  testChain,
} from '../../src/state/testing/chain-fixture.ts'
import {
  decodeTransaction,
  type Secp256k1Recover,
  transactionDigest,
  verifyTransactionSignature,
} from '../../src/state/transaction.ts'
import { applyTransaction } from '../../src/state/transitions.ts'
import { ValueCache } from '../../src/state/value-cache.ts'
import type { Figure } from '../shared.ts'

export interface ChainBenchOptions {
  /** Funded accounts that send and receive the transfers. */
  readonly accounts: number
  /** Transfers per block (at most `accounts`: one per sender per block). */
  readonly blockSize: number
  /** Blocks of transfers. */
  readonly blocks: number
  readonly claimsPerTx: number
  readonly claimTxsPerBlock: number
  readonly claimBlocks: number
  /** Delivery units each claim reveals (hash-chain steps checked). */
  readonly claimUnits: number
  readonly log: (line: string) => void
}

const utf8 = new TextEncoder()
const STEP_MS = 1000

/** The executor's flat-copy key of (table, key): chain/v/ ‖ table index ‖ key (executor.ts). */
function valueKey(table: TableName, key: Uint8Array): Uint8Array {
  const prefix = utf8.encode('chain/v/')
  const out = new Uint8Array(prefix.length + 1 + key.length)
  out.set(prefix)
  out[prefix.length] = TABLES.indexOf(table)
  out.set(key, prefix.length + 1)
  return out
}

/** The body of the block after `head` (parent and height from the executor's head). */
function bodyAfter(
  head: StateExecutor['head'],
  transactions: readonly Uint8Array[],
  height = head.height + 1,
  parent = head.hash,
  timestampMs = head.timestampMs + STEP_MS,
): BlockBody {
  return { chainId: head.chainId, height, parent, timestampMs, transactions }
}

/**
 * This process's CPU time (user + system, all its threads) in ms: on a shared machine, what a
 * step costs rather than how long it waited for a core.
 */
function cpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/**
 * A `KvStore` that passes every call to a real store and adds up the CPU time spent in `get` and
 * `batch`: how much of a block is the store's.
 */
class TimedKvStore implements KvStore {
  readonly inner: KvStore
  getMs = 0
  gets = 0
  batchMs = 0

  constructor(inner: KvStore) {
    this.inner = inner
  }

  async get(key: Uint8Array, options?: KvCallOptions): Promise<Uint8Array | undefined> {
    const t0 = cpuMs()
    try {
      return await this.inner.get(key, options)
    } finally {
      this.getMs += cpuMs() - t0
      this.gets++
    }
  }

  entries(range?: KvRange): AsyncIterable<{ key: Uint8Array; value: Uint8Array }> {
    return this.inner.entries(range)
  }

  put(key: Uint8Array, value: Uint8Array, options?: KvCallOptions): Promise<void> {
    return this.inner.put(key, value, options)
  }

  delete(key: Uint8Array, options?: KvCallOptions): Promise<void> {
    return this.inner.delete(key, options)
  }

  async batch(operations: readonly KvOperation[], options?: KvCallOptions): Promise<void> {
    const t0 = cpuMs()
    try {
      await this.inner.batch(operations, options)
    } finally {
      this.batchMs += cpuMs() - t0
    }
  }

  update(key: Uint8Array, change: KvChange, options?: KvCallOptions): Promise<void> {
    return this.inner.update(key, change, options)
  }

  snapshot(options?: KvCallOptions): Promise<KvSnapshot> {
    return this.inner.snapshot(options)
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}

/** Wall-clock and CPU ms per block. */
interface Timings {
  readonly ms: number[]
  readonly cpu: number[]
}

interface TransferSet {
  readonly genesis: Genesis
  readonly accounts: readonly TestAccount[]
  /** Per block, the encoded signed transfers. */
  readonly blocks: readonly Uint8Array[][]
  /** Digests (hex) of every transfer: what a mempool would have verified. */
  readonly verified: ReadonlySet<string>
}

/** Genesis with `n` funded accounts, and `blocks` blocks of pre-signed transfers. */
function makeTransfers(options: ChainBenchOptions): TransferSet {
  const { log } = options
  const base = testChain()
  const t0 = performance.now()
  const accounts = Array.from({ length: options.accounts }, (_, i) => testAccount(`bench ${i}`))
  log(`chain: ${accounts.length} accounts derived in ${(performance.now() - t0).toFixed(0)} ms`)
  const genesis: Genesis = {
    ...base.genesis,
    accounts: [
      ...base.genesis.accounts,
      ...accounts.map((a) => ({
        address: a.address,
        flk: 1000n * ONE_TOKEN,
        stables: 1000n * ONE_TOKEN,
      })),
    ],
  }
  const t1 = performance.now()
  const blocks: Uint8Array[][] = []
  const verified = new Set<string>()
  for (let b = 0; b < options.blocks; b++) {
    const txs: Uint8Array[] = []
    // Sender i pays (i + 1 + b) mod n: every account sends one and receives one per block.
    for (let i = 0; i < options.blockSize; i++) {
      const to = accounts[(i + 1 + b) % accounts.length]!.address
      const tx = accountTx(accounts[i]!, b + 1, {
        type: 'Transfer',
        token: 'FLK',
        amount: ONE_TOKEN / 1000n + BigInt(i),
        to,
      })
      txs.push(tx)
      verified.add(bytesToHex(transactionDigest(decodeTransaction(tx).payload)))
    }
    blocks.push(txs)
  }
  log(
    `chain: ${options.blocks * options.blockSize} transfers signed in ${(performance.now() - t1).toFixed(0)} ms`,
  )
  return { genesis, accounts, blocks, verified }
}

function failures(receipts: readonly Receipt[]): string[] {
  return receipts.filter((r) => r.status !== 'ok').map((r) => `${r.status}: ${r.message ?? ''}`)
}

/** Executes the transfer blocks on a fresh LevelDB store; ms per block. */
async function runTransfers(
  dir: string,
  set: TransferSet,
  verified: boolean,
  notes: string[],
  recover?: Secp256k1Recover,
): Promise<{ ms: number[]; cpu: number[]; root: string }> {
  const store = await openLevelKvStore({ dir, syncReads: true })
  try {
    const executor = await StateExecutor.open(
      store,
      set.genesis,
      recover === undefined ? {} : { recover },
    )
    const ms: number[] = []
    const cpu: number[] = []
    for (const txs of set.blocks) {
      const body = bodyAfter(executor.head, txs)
      const c0 = cpuMs()
      const t0 = performance.now()
      const block = await executor.execute(body, verified ? { verified: set.verified } : {})
      ms.push(performance.now() - t0)
      cpu.push(cpuMs() - c0)
      const bad = failures(block.receipts)
      if (bad.length > 0) notes.push(`Chain transfers: ${bad.length} did not succeed (${bad[0]})`)
    }
    return { ms, cpu, root: bytesToHex(executor.head.stateRoot) }
  } finally {
    await store.close()
  }
}

/** The peer: per block, the records it changes (flat copy only) written as one LevelDB batch. */
async function runPlainTransfers(dir: string, set: TransferSet): Promise<Timings> {
  const store = await openLevelKvStore({ dir })
  try {
    const ms: number[] = []
    const cpu: number[] = []
    const n = set.accounts.length
    for (let b = 0; b < set.blocks.length; b++) {
      const txs = set.blocks[b]!
      const c0 = cpuMs()
      const t0 = performance.now()
      const ops: KvOperation[] = []
      for (let i = 0; i < n; i++) {
        const entry = { flk: 1000n * ONE_TOKEN + BigInt(b * 7 + i), stables: ONE_TOKEN, nonce: b }
        ops.push({
          type: 'put',
          key: valueKey('accounts', set.accounts[i]!.address),
          value: encodeEntry('accounts', entry),
        })
      }
      for (let i = 0; i < txs.length; i++) {
        // A digest-sized key per transaction, as the executed table has.
        const digest = new Uint8Array(32)
        new DataView(digest.buffer).setUint32(0, b * txs.length + i)
        ops.push({
          type: 'put',
          key: valueKey('executed', digest),
          value: encodeEntry('executed', { height: b + 1, index: i }),
        })
      }
      ops.push({ type: 'put', key: valueKey('metadata', METADATA_KEY), value: new Uint8Array(200) })
      await store.batch(ops)
      ms.push(performance.now() - t0)
      cpu.push(cpuMs() - c0)
    }
    return { ms, cpu }
  } finally {
    await store.close()
  }
}

interface Breakdown {
  signatures: number
  decodeAndTransitions: number
  valueReads: number
  treeCommit: number
  treeReads: number
  storeBatch: number
  blockRecord: number
  blocks: number
}

/**
 * The executor's steps one by one on the same blocks (signatures pre-verified, then checked on
 * their own): what StateExecutor.#execute does, over the same store layout and tree.
 */
async function runBreakdown(dir: string, set: TransferSet): Promise<Breakdown> {
  const timed = new TimedKvStore(await openLevelKvStore({ dir, syncReads: true }))
  const out: Breakdown = {
    signatures: 0,
    decodeAndTransitions: 0,
    valueReads: 0,
    treeCommit: 0,
    treeReads: 0,
    storeBatch: 0,
    blockRecord: 0,
    blocks: 0,
  }
  try {
    const executor = await StateExecutor.open(timed, set.genesis)
    const tree = await StateTree.open(timed, { prefix: utf8.encode('chain/t/') })
    const params = await executor.params()
    // The executor's value cache, as it keeps one (cold here: warmed by the first block).
    const values = new ValueCache(100_000)
    const source = {
      get: (table: TableName, key: Uint8Array) =>
        values.read(valueKey(table, key), (k) => timed.get(k)),
      entries: (table: TableName) => executor.entries(table),
    }
    let head = executor.head
    for (const txs of set.blocks) {
      let t0 = cpuMs()
      for (const tx of txs) {
        if (!verifyTransactionSignature(decodeTransaction(tx))) throw new Error('bad signature')
      }
      out.signatures += cpuMs() - t0

      const body = bodyAfter(head, txs)
      const ctx: BlockContext = {
        chainId: head.chainId,
        height: body.height,
        timestampMs: body.timestampMs,
        params,
        verified: set.verified,
      }
      timed.getMs = 0
      t0 = cpuMs()
      const state = new BlockState(source)
      const receipts: Receipt[] = []
      for (let i = 0; i < txs.length; i++) {
        receipts.push(await applyTransaction(state, txs[i]!, i, ctx))
      }
      const meta = await metadataOf(state)
      state.put('metadata', METADATA_KEY, { ...meta, height: body.height })
      const changes = state.changes()
      out.decodeAndTransitions += cpuMs() - t0 - timed.getMs
      out.valueReads += timed.getMs
      if (failures(receipts).length > 0) throw new Error(failures(receipts)[0])

      timed.getMs = 0
      timed.batchMs = 0
      let recordMs = 0
      let executed: ExecutedBlock | undefined
      const valueOps: KvOperation[] = changes.map((c) =>
        c.value === null
          ? { type: 'delete', key: valueKey(c.table as TableName, c.key) }
          : { type: 'put', key: valueKey(c.table as TableName, c.key), value: c.value },
      )
      t0 = cpuMs()
      await tree.commit(changes, ({ root }) => {
        const r0 = cpuMs()
        executed = executedBlockOf(body, receipts, meta.epoch, root)
        const ops = [...valueOps]
        const height = new Uint8Array(8)
        new DataView(height.buffer).setUint32(4, body.height)
        ops.push({
          type: 'put',
          key: new Uint8Array([...utf8.encode('chain/b/'), ...height]),
          value: encodeExecutedBlock(executed),
        })
        recordMs = cpuMs() - r0
        return ops
      })
      const commitMs = cpuMs() - t0
      values.wrote(valueOps)
      out.treeCommit += commitMs - timed.getMs - timed.batchMs - recordMs
      out.treeReads += timed.getMs
      out.storeBatch += timed.batchMs
      out.blockRecord += recordMs
      out.blocks++
      const block = executed as unknown as ExecutedBlock
      head = {
        ...head,
        height: body.height,
        hash: block.hash,
        stateRoot: block.header.stateRoot,
        timestampMs: body.timestampMs,
      }
    }
    return out
  } finally {
    await timed.close()
  }
}

interface ClaimSet {
  readonly genesis: Genesis
  /** The first block registers the client keys; the others carry the claims. */
  readonly setup: Uint8Array[]
  readonly blocks: readonly Uint8Array[][]
  readonly claims: number
  /** One encoded claim, for timing its verification alone. */
  readonly sample: Uint8Array
  /** One transaction's claims, for timing their checks as the executor makes them (a batch). */
  readonly sampleBatch: readonly Uint8Array[]
  readonly clients: number
}

function makeClaims(options: ChainBenchOptions): ClaimSet {
  const { log } = options
  const chain = testChain({ nodeCount: 1 })
  const node = chain.nodes[0]!
  const clients = 16
  const payers = Array.from({ length: clients }, (_, i) => testAccount(`bench payer ${i}`))
  const keys = payers.map((_, i) => clientKeyFromPrivate(fixedSecret(`bench client ${i}`)))
  const genesis: Genesis = {
    ...chain.genesis,
    accounts: [
      ...chain.genesis.accounts,
      ...payers.map((a) => ({ address: a.address, flk: 0n, stables: 1000n * ONE_TOKEN })),
    ],
  }
  const setup = payers.map((a, i) =>
    accountTx(a, 1, { type: 'RegisterClientKey', clientKey: keys[i]!.publicKey }),
  )
  const t0 = performance.now()
  const blocks: Uint8Array[][] = []
  let nonce = 0
  let session = 0
  let sample: Uint8Array | undefined
  let sampleBatch: Uint8Array[] | undefined
  for (let b = 0; b < options.claimBlocks; b++) {
    const txs: Uint8Array[] = []
    for (let t = 0; t < options.claimTxsPerBlock; t++) {
      const claims: Uint8Array[] = []
      for (let c = 0; c < options.claimsPerTx; c++) {
        session++
        // A session each: every claim settles (a new client key, session and seq).
        const claim = makeClaim(keys[session % clients]!, node.key, options.claimUnits, {
          session: BigInt(session),
        })
        sample ??= claim
        claims.push(claim)
      }
      sampleBatch ??= claims
      txs.push(nodeTx(node, ++nonce, { type: 'SubmitDeliveryClaims', claims }))
    }
    blocks.push(txs)
  }
  log(`chain: ${session} claims signed in ${(performance.now() - t0).toFixed(0)} ms`)
  return {
    genesis,
    setup,
    blocks,
    claims: session,
    sample: sample!,
    sampleBatch: sampleBatch!,
    clients,
  }
}

async function runClaims(
  dir: string,
  set: ClaimSet,
  notes: string[],
): Promise<{ ms: number[]; cpu: number[]; settled: number }> {
  const store = await openLevelKvStore({ dir, syncReads: true })
  try {
    const executor = await StateExecutor.open(store, set.genesis)
    const setup = await executor.execute(bodyAfter(executor.head, set.setup))
    const bad = failures(setup.receipts)
    if (bad.length > 0) notes.push(`Chain claims: setup failed (${bad[0]})`)
    const ms: number[] = []
    const cpu: number[] = []
    let settled = 0
    for (const txs of set.blocks) {
      const body = bodyAfter(executor.head, txs)
      const c0 = cpuMs()
      const t0 = performance.now()
      const block = await executor.execute(body)
      ms.push(performance.now() - t0)
      cpu.push(cpuMs() - c0)
      for (const r of block.receipts) {
        for (const e of r.events ?? []) if (e.type === 'ClaimSettled') settled++
      }
      const failed = failures(block.receipts)
      if (failed.length > 0) notes.push(`Chain claims: ${failed.length} failed (${failed[0]})`)
    }
    return { ms, cpu, settled }
  } finally {
    await store.close()
  }
}

/** The peer: per claim block, its records (settled, payers, served, totals) in one batch. */
async function runPlainClaims(dir: string, set: ClaimSet, perBlock: number): Promise<Timings> {
  const store = await openLevelKvStore({ dir })
  try {
    const ms: number[] = []
    const cpu: number[] = []
    for (let b = 0; b < set.blocks.length; b++) {
      const c0 = cpuMs()
      const t0 = performance.now()
      const ops: KvOperation[] = []
      for (let c = 0; c < perBlock; c++) {
        // settled: client key (32) ‖ session (8) ‖ seq (4) ‖ node (32) → { index }
        const key = new Uint8Array(76)
        new DataView(key.buffer).setUint32(32, b * perBlock + c)
        ops.push({
          type: 'put',
          key: valueKey('settled', key),
          value: encodeEntry('settled', { index: 16 }),
        })
      }
      for (let p = 0; p < set.clients; p++) {
        const address = new Uint8Array(20)
        address[0] = p
        ops.push({
          type: 'put',
          key: valueKey('accounts', address),
          value: encodeEntry('accounts', { flk: 0n, stables: ONE_TOKEN * BigInt(b + p), nonce: 1 }),
        })
      }
      ops.push({
        type: 'put',
        key: valueKey('served', new Uint8Array(41)),
        value: new Uint8Array(24),
      })
      ops.push({ type: 'put', key: valueKey('metadata', METADATA_KEY), value: new Uint8Array(200) })
      await store.batch(ops)
      ms.push(performance.now() - t0)
      cpu.push(cpuMs() - c0)
    }
    return { ms, cpu }
  } finally {
    await store.close()
  }
}

/** Per-call CPU ms of `f` over `n` calls. */
function timeEach(n: number, f: (i: number) => void): number {
  f(0)
  const t0 = cpuMs()
  for (let i = 0; i < n; i++) f(i)
  return (cpuMs() - t0) / n
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0)

export async function measureChain(
  options: ChainBenchOptions,
): Promise<{ figures: Figure[]; notes: string[] }> {
  const { log } = options
  const base = mkdtempSync(join(tmpdir(), 'fulmen-bench-chain-'))
  const figures: Figure[] = []
  const notes: string[] = []
  const load0 = os.loadavg()[0]!
  try {
    const transfers = makeTransfers(options)
    const count = options.blocks * options.blockSize

    const plain = await runPlainTransfers(join(base, 'plain-transfers'), transfers)
    const signed = await runTransfers(join(base, 'signed'), transfers, false, notes)
    const verified = await runTransfers(join(base, 'verified'), transfers, true, notes)
    // What a full node runs: libsecp256k1's recovery (src/node/chain/native-secp256k1.ts).
    const native = await runTransfers(join(base, 'native'), transfers, false, notes, nativeRecover)
    if (signed.root !== verified.root || signed.root !== native.root)
      notes.push('Chain: the transfer runs gave DIFFERENT roots')
    const rate = (ms: readonly number[], n: number) => n / (sum(ms) / 1000)
    log(
      `chain: transfers ${rate(signed.ms, count).toFixed(0)}/s signed, ${rate(verified.ms, count).toFixed(0)}/s pre-verified, plain LevelDB ${rate(plain.ms, count).toFixed(0)}/s; ` +
        `per CPU second ${rate(signed.cpu, count).toFixed(0)}, ${rate(verified.cpu, count).toFixed(0)}, ${rate(plain.cpu, count).toFixed(0)}; ` +
        `signed with libsecp256k1 ${rate(native.ms, count).toFixed(0)}/s (CPU ${rate(native.cpu, count).toFixed(0)})`,
    )
    figures.push(
      { name: 'chain.transfers.signed', value: rate(signed.ms, count), unit: 'tx/s' },
      { name: 'chain.transfers.verified', value: rate(verified.ms, count), unit: 'tx/s' },
      { name: 'chain.transfers.level', value: rate(plain.ms, count), unit: 'tx/s' },
      { name: 'chain.transfers.signed-cpu', value: rate(signed.cpu, count), unit: 'tx/s' },
      { name: 'chain.transfers.verified-cpu', value: rate(verified.cpu, count), unit: 'tx/s' },
      { name: 'chain.transfers.level-cpu', value: rate(plain.cpu, count), unit: 'tx/s' },
      { name: 'chain.transfers.native', value: rate(native.ms, count), unit: 'tx/s' },
      { name: 'chain.transfers.native-cpu', value: rate(native.cpu, count), unit: 'tx/s' },
      { name: 'chain.target.transfers', value: 5000, unit: 'tx/s' },
    )

    const bd = await runBreakdown(join(base, 'breakdown'), transfers)
    const perBlock = (ms: number) => ms / bd.blocks
    const parts: [string, number][] = [
      ['signatures', bd.signatures],
      ['transitions', bd.decodeAndTransitions],
      ['value-reads', bd.valueReads],
      ['tree-commit', bd.treeCommit],
      ['tree-reads', bd.treeReads],
      ['store-batch', bd.storeBatch],
      ['block-record', bd.blockRecord],
    ]
    for (const [name, ms] of parts) {
      figures.push({ name: `chain.block.${name}`, value: perBlock(ms), unit: 'ms' })
    }
    const total = sum(parts.map(([, ms]) => ms))
    figures.push(
      { name: 'chain.block.total', value: perBlock(total), unit: 'ms' },
      {
        name: 'chain.block.executor-signed',
        value: sum(signed.cpu) / signed.cpu.length,
        unit: 'ms',
      },
    )
    log(
      `chain: a block of ${options.blockSize}: ${parts.map(([n, ms]) => `${n} ${perBlock(ms).toFixed(1)}`).join(', ')} ms`,
    )
    const sample = decodeTransaction(transfers.blocks[0]![0]!)
    const recoverMs = timeEach(200, () => verifyTransactionSignature(sample))
    figures.push({ name: 'chain.secp256k1.verify', value: recoverMs * 1000, unit: 'µs' })

    const claims = makeClaims(options)
    const claimsPerBlock = options.claimsPerTx * options.claimTxsPerBlock
    const plainClaims = await runPlainClaims(join(base, 'plain-claims'), claims, claimsPerBlock)
    const settled = await runClaims(join(base, 'claims'), claims, notes)
    if (settled.settled !== claims.claims) {
      notes.push(`Chain claims: ${settled.settled} of ${claims.claims} settled`)
    }
    const claimRate = rate(settled.ms, claims.claims)
    log(
      `chain: claims ${claimRate.toFixed(0)}/s, plain LevelDB ${rate(plainClaims.ms, claims.claims).toFixed(0)}/s; ` +
        `per CPU second ${rate(settled.cpu, claims.claims).toFixed(0)}, ${rate(plainClaims.cpu, claims.claims).toFixed(0)}`,
    )
    const claim = decodeClaim(claims.sample)
    const claimMs = timeEach(100, () => verifyClaim(claim))
    const batchMs = timeEach(5, () => checkClaims(claims.sampleBatch)) / claims.sampleBatch.length
    figures.push(
      { name: 'chain.claims.settled', value: claimRate, unit: 'claims/s' },
      { name: 'chain.claims.level', value: rate(plainClaims.ms, claims.claims), unit: 'claims/s' },
      {
        name: 'chain.claims.settled-cpu',
        value: rate(settled.cpu, claims.claims),
        unit: 'claims/s',
      },
      {
        name: 'chain.claims.level-cpu',
        value: rate(plainClaims.cpu, claims.claims),
        unit: 'claims/s',
      },
      { name: 'chain.target.claims', value: 2000, unit: 'claims/s' },
      { name: 'chain.claims.verify-one', value: claimMs * 1000, unit: 'µs' },
      { name: 'chain.claims.check-in-batch', value: batchMs * 1000, unit: 'µs' },
      {
        name: 'chain.claims.executor-per-claim',
        value: 1e6 / rate(settled.cpu, claims.claims),
        unit: 'µs',
      },
    )
    notes.push(
      `Chain: ${count.toLocaleString('en-US')} transfers among ${options.accounts.toLocaleString('en-US')} accounts in blocks of ` +
        `${options.blockSize.toLocaleString('en-US')}; ${claims.claims.toLocaleString('en-US')} claims of ${options.claimUnits} units in ` +
        `SubmitDeliveryClaims of ${options.claimsPerTx}, ${options.claimTxsPerBlock} per block; LevelDB in ${tmpdir()} (state stores read synchronously, as the chain node opens them). ` +
        `One secp256k1 signature check (recovery, @noble/curves) ${(recoverMs * 1000).toFixed(0)} µs, one claim ` +
        `(EdDSA-Poseidon + ${options.claimUnits} hash-chain steps) ${(claimMs * 1000).toFixed(0)} µs alone (@noble/curves), ` +
        `${(batchMs * 1000).toFixed(0)} µs in a batch of ${claims.sampleBatch.length} (checkClaims, the BN254 kernel). ` +
        `Load average (1 min) ${load0.toFixed(2)} at the section's start, ${os.loadavg()[0]!.toFixed(2)} at its end. ` +
        `State root after the transfers ${signed.root.slice(0, 16)}….`,
    )
    return { figures, notes }
  } finally {
    rmSync(base, { recursive: true, force: true })
  }
}

/** The section's rows for bench/run.ts. */
export function chainComparisons(options: Pick<ChainBenchOptions, 'blockSize' | 'claimsPerTx'>) {
  const section = `Chain execution (issue 15): StateExecutor on LevelDB, blocks of ${options.blockSize.toLocaleString('en-US')} transfers, root per block`
  const share = (name: string, label: string) => ({
    section,
    label: `block, CPU: ${label}`,
    figure: `chain.block.${name}`,
    peer: 'chain.block.total',
    ratio: `chain.ratio.block-${name}/total`,
    percent: true,
  })
  return [
    {
      section,
      label: 'transfers, signatures checked, vs plain LevelDB',
      figure: 'chain.transfers.signed',
      peer: 'chain.transfers.level',
      ratio: 'chain.ratio.transfers-signed/level',
    },
    {
      section,
      label: 'transfers, signatures pre-verified, vs plain LevelDB',
      figure: 'chain.transfers.verified',
      peer: 'chain.transfers.level',
      ratio: 'chain.ratio.transfers-verified/level',
    },
    {
      section,
      label: 'transfers, checked by libsecp256k1 (a full node), vs plain LevelDB',
      figure: 'chain.transfers.native',
      peer: 'chain.transfers.level',
      ratio: 'chain.ratio.transfers-native/level',
    },
    {
      section,
      label: 'transfers, checked by libsecp256k1, vs checked by @noble/curves',
      figure: 'chain.transfers.native',
      peer: 'chain.transfers.signed',
      ratio: 'chain.ratio.transfers-native/signed',
    },
    {
      section,
      label: 'per CPU second: transfers, libsecp256k1, vs the target',
      figure: 'chain.transfers.native-cpu',
      peer: 'chain.target.transfers',
      ratio: 'chain.ratio.transfers-native-cpu/target',
      target: { text: '≥ 5,000/s', met: (_r: number, f: number) => f >= 5000 },
    },
    {
      section,
      label: 'transfers, signatures checked, vs the target',
      figure: 'chain.transfers.signed',
      peer: 'chain.target.transfers',
      ratio: 'chain.ratio.transfers-signed/target',
      target: { text: '≥ 5,000/s', met: (_r: number, f: number) => f >= 5000 },
    },
    {
      section,
      label: 'transfers, pre-verified, vs the target',
      figure: 'chain.transfers.verified',
      peer: 'chain.target.transfers',
      ratio: 'chain.ratio.transfers-verified/target',
      target: { text: '≥ 5,000/s', met: (_r: number, f: number) => f >= 5000 },
    },
    {
      section,
      label: 'per CPU second: transfers, checked, vs plain LevelDB',
      figure: 'chain.transfers.signed-cpu',
      peer: 'chain.transfers.level-cpu',
      ratio: 'chain.ratio.transfers-signed-cpu/level-cpu',
      target: { text: '≥ 5,000/s', met: (_r: number, f: number) => f >= 5000 },
    },
    {
      section,
      label: 'per CPU second: transfers, pre-verified, vs plain LevelDB',
      figure: 'chain.transfers.verified-cpu',
      peer: 'chain.transfers.level-cpu',
      ratio: 'chain.ratio.transfers-verified-cpu/level-cpu',
      target: { text: '≥ 5,000/s', met: (_r: number, f: number) => f >= 5000 },
    },
    share('signatures', 'signature checks (decode + secp256k1)'),
    share('transitions', 'decode, transitions, encode'),
    share('value-reads', 'value reads (cache, else LevelDB get)'),
    share('tree-commit', 'tree commit (hashing, nodes)'),
    share('tree-reads', 'tree node reads (LevelDB get)'),
    share('store-batch', 'store batch (LevelDB write)'),
    share('block-record', 'block record (roots, hash, encode)'),
    {
      section,
      label: "block, CPU: the steps' sum vs the executor's",
      figure: 'chain.block.total',
      peer: 'chain.block.executor-signed',
      ratio: 'chain.ratio.block-steps/executor',
    },
    {
      section,
      label: `claims (SubmitDeliveryClaims of ${options.claimsPerTx}) vs plain LevelDB`,
      figure: 'chain.claims.settled',
      peer: 'chain.claims.level',
      ratio: 'chain.ratio.claims/level',
    },
    {
      section,
      label: 'claims settled vs the 2,000/s target',
      figure: 'chain.claims.settled',
      peer: 'chain.target.claims',
      ratio: 'chain.ratio.claims/target',
      target: { text: '≥ 2,000/s', met: (_r: number, f: number) => f >= 2000 },
    },
    {
      section,
      label: 'per CPU second: claims vs plain LevelDB',
      figure: 'chain.claims.settled-cpu',
      peer: 'chain.claims.level-cpu',
      ratio: 'chain.ratio.claims-cpu/level-cpu',
      target: { text: '≥ 2,000/s', met: (_r: number, f: number) => f >= 2000 },
    },
    {
      section,
      label: "CPU: one claim's checks in a batch (kernel) vs alone (noble)",
      figure: 'chain.claims.check-in-batch',
      peer: 'chain.claims.verify-one',
      ratio: 'chain.ratio.claim-batch/verify-one',
    },
    {
      section,
      label: "CPU: one claim's checks in a batch vs the executor's per claim",
      figure: 'chain.claims.check-in-batch',
      peer: 'chain.claims.executor-per-claim',
      ratio: 'chain.ratio.claim-batch/executor',
      percent: true,
    },
  ]
}
