/**
 * The chain on a full node (issue 15): a Component the full node composes when its config names
 * a genesis. Started, it
 *
 *   1. reads and checks the genesis file (parseGenesis),
 *   2. opens the chain's LevelDB at `<dataDir>/chain` and the state on it (StateExecutor.open
 *      writes the genesis state into an empty store, resumes at the last block otherwise, and
 *      refuses a store of another genesis),
 *   3. orders: `solo` runs the solo orderer (this node orders the transactions it receives);
 *      `committee` orders with the epoch's committee by Narwhal and Bullshark when the node is
 *      a member and follows the members otherwise (committee-chain.ts);
 *      `follow` re-executes another node's blocks (chain-follower.ts) and forwards transactions
 *      to it (forwarding-orderer.ts); either way the claim settler puts the DA pool's claims on
 *      chain every `settleEveryMs`, signed with the node's Ed25519 identity,
 *   4. serves `/fulmen/chain/1.0.0` and, through `api`, the gateway's `/chain/...` routes,
 *   5. with `measure` on, pings the other active nodes over `/fulmen/ping/1.0.0` and submits
 *      the measurements once or twice an epoch (src/node/reputation/reputation-node.ts), and
 *      keeps connections to the node's peers in the epoch's topology
 *      (src/node/topology/topology-keeper.ts).
 *
 * Stopped, it takes them down in reverse and closes the store.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { DA_BATCH_SLOTS } from '../../acks/da-batch-artifacts.ts'
import type { DaPool } from '../../acks/da-pool.ts'
import { CHECKPOINT_DST, checkpointHash } from '../../checkpoint/checkpoint.ts'
import { CheckpointBook } from '../../checkpoint/checkpoint-book.ts'
import {
  checkpointRunToJson,
  decodeSignedCheckpoint,
  encodeSignedCheckpoint,
} from '../../checkpoint/checkpoint-codec.ts'
import { genesisAnchor } from '../../checkpoint/genesis-anchor.ts'
import { useMclCheckpointKernel } from '../../checkpoint/mcl-signature-kernel.ts'
import { encodeAttestation } from '../../consensus/attestation/attestation-codec.ts'
import { AttestationStore } from '../../consensus/attestation/attestation-store.ts'
import { readCommittee } from '../../consensus/chain-reads.ts'
import { type ClaimBatchProver, createClaimSettler } from '../../consensus/claim-settler.ts'
import { NarwhalStore } from '../../consensus/dag/narwhal-store.ts'
import { createEpochDutyLoop } from '../../consensus/epoch-duty-loop.ts'
import type { Orderer } from '../../consensus/orderer.ts'
import { createSoloOrderer } from '../../consensus/solo-orderer.ts'
import { equalBytes } from '../../core/bytes.ts'
import type { Component } from '../../core/lifecycle.ts'
import type { Logger } from '../../core/logger.ts'
import { type LevelKvStore, openLevelKvStore } from '../../kv/level-kv-store.ts'
import type { ProtocolServer } from '../../net/protocol-server.ts'
import { blockToJson, receiptToJson } from '../../state/block.ts'
import { StateError } from '../../state/errors.ts'
import { StateExecutor } from '../../state/executor.ts'
import { parseGenesis } from '../../state/genesis.ts'
import type { ExecutedBlock, Genesis } from '../../state/model.ts'
import { entryToJson, isTableName, parseTableKey } from '../../state/tables.ts'
import { nodeKeyOfSeed } from '../../state/transaction.ts'
import type { ChainConfig } from '../config.ts'
import { loadBlsSecretKey } from '../key-files.ts'
import { type NodeMetrics, promMetrics } from '../metrics.ts'
import { createWorkerDaBatchProver, DEFAULT_ARTIFACTS_DIR } from '../prover/worker-prover.ts'
import { createReputationNode, type ReputationNode } from '../reputation/reputation-node.ts'
import { createTopologyKeeper, type TopologyKeeper } from '../topology/topology-keeper.ts'
import { type ChainApi, ChainError, type HeadJson, type StateJson } from './chain-api.ts'
import { type ChainFollower, createChainFollower } from './chain-follower.ts'
import { chainProtocolServer } from './chain-protocol.ts'
import { type CommitteeChain, createCommitteeChain } from './committee-chain.ts'
import { createForwardingOrderer } from './forwarding-orderer.ts'
import { useMclGroth16Kernel } from './mcl-bn254.ts'
import { nativeRecover } from './native-secp256k1.ts'

/** The chain's LevelDB, under the node's data directory. */
export const CHAIN_DIR = 'chain'
/** Where a committee member keeps its Narwhal DAG, in the chain's store (narwhal-store.ts). */
const NARWHAL_PREFIX = 'narwhal/'

export interface ChainNodeOptions {
  readonly chain: ChainConfig & { readonly genesis: string }
  readonly dataDir: string
  /** The node's identity: its Ed25519 seed signs the node's own transactions. */
  readonly identity: PrivateKey
  /** The node's DA pool (the node core opens it before this starts). */
  readonly pool: () => DaPool
  /** The node's libp2p, started before this. */
  readonly libp2p: () => Pick<
    Libp2p,
    'peerId' | 'dial' | 'handle' | 'unhandle' | 'getConnections' | 'peerStore'
  >
  readonly metrics: NodeMetrics
  readonly logger: Logger
}

export interface ChainNode extends Component {
  /** What the doors answer from; CHAIN_UNAVAILABLE while the chain is not started. */
  readonly api: ChainApi
  /** The executor, once started (tests, tools). */
  readonly executor: StateExecutor | undefined
  /** The follower (`follow` mode), once started: whether it diverged. */
  readonly follower: ChainFollower | undefined
  /** The measurements of the other nodes (`measure` on), once started. */
  readonly reputation: ReputationNode | undefined
  /** The connections to the epoch's topology peers (`measure` on), once started. */
  readonly topology: TopologyKeeper | undefined
}

/**
 * The node's Ed25519 seed. libp2p keeps an Ed25519 private key as seed ‖ public key (64
 * bytes); the seed is what signs. Checked against the public key, so that a key of another
 * type or layout fails here, not as signatures that never verify.
 */
export function ed25519SeedOf(identity: PrivateKey): Uint8Array {
  const seed = identity.raw.subarray(0, 32)
  if (identity.type !== 'Ed25519' || !equalBytes(nodeKeyOfSeed(seed), identity.publicKey.raw)) {
    throw new ChainError('CHAIN_UNAVAILABLE', 'the node identity is not an Ed25519 key')
  }
  return Uint8Array.from(seed)
}

async function readGenesis(path: string): Promise<Genesis> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new StateError(
      'STATE_GENESIS_INVALID',
      `cannot read the genesis ${path}: ${(error as Error).message}`,
    )
  }
  return parseGenesis(text)
}

const hex = (b: Uint8Array) => bytesToHex(b)

export function createChainNode(options: ChainNodeOptions): ChainNode {
  const { chain: config, logger } = options
  const log = logger.child({ component: 'chain' })
  const metrics = promMetrics(options.metrics.registry)
  const submitted = metrics.counter({
    name: 'fulmen_chain_transactions_submitted_total',
    help: 'Transactions submitted to this node (HTTP and libp2p), by result (accepted, or the refusal code)',
    labelNames: ['result'],
  })
  const executed = metrics.counter({
    name: 'fulmen_chain_transactions_executed_total',
    help: 'Transactions in the blocks this node executed, by receipt status (ok, or the revert code)',
    labelNames: ['status'],
  })
  let store: LevelKvStore | undefined
  let attestations: AttestationStore | undefined
  let checkpoints: CheckpointBook | undefined
  let executor: StateExecutor | undefined
  let orderer: Orderer | undefined
  let follower: ChainFollower | undefined
  let reputation: ReputationNode | undefined
  let topology: TopologyKeeper | undefined
  let parts: Component[] = []
  let prover: (ClaimBatchProver & { stop(): Promise<void> }) | undefined
  let server: ProtocolServer | undefined
  metrics.gauge({
    name: 'fulmen_chain_height',
    help: 'Height of the last block this node executed',
    collect: () => executor?.head.height ?? 0,
  })
  metrics.gauge({
    name: 'fulmen_chain_epoch',
    help: 'The chain epoch after the last executed block',
    collect: () => executor?.head.epoch ?? 0,
  })

  const ready = (): StateExecutor => {
    if (executor === undefined)
      throw new ChainError('CHAIN_UNAVAILABLE', 'the chain is not started')
    return executor
  }

  const countBlock = (block: ExecutedBlock) => {
    for (const receipt of block.receipts) executed.labels(receipt.status).inc()
    // Every executed block, member's or follower's: the checkpoint bodies are computed here.
    checkpoints
      ?.observe(block)
      .catch((e: unknown) =>
        log.warn({ err: e, height: block.header.height }, 'taking a checkpoint failed'),
      )
  }

  /** The checkpoint a followed gateway served with `block` (hex), taken when it checks:
   * 'missing' when the block completes a checkpoint this node has no aggregate of yet. */
  const takeServedCheckpoint = async (
    block: ExecutedBlock,
    served: string | undefined,
  ): Promise<'done' | 'missing'> => {
    const book = checkpoints
    if (book === undefined) return 'done'
    const body = await book.observe(block)
    if (body === undefined) return 'done'
    if (served !== undefined) {
      try {
        await book.acceptServed(decodeSignedCheckpoint(hexToBytes(served)))
        return 'done'
      } catch (error) {
        log.warn({ err: error, height: body.height }, 'refused a served checkpoint')
      }
    }
    return (await book.signedAt(body.height)) === undefined ? 'missing' : 'done'
  }

  const api: ChainApi = {
    async head(): Promise<HeadJson> {
      const state = ready()
      const h = state.head
      // The committee of the head's epoch, read after `h` was taken: an epoch's entry stays
      // once written, so a block executed meanwhile does not make it another epoch's.
      const entry = await readCommittee(state, h.epoch)
      const base = {
        chainId: h.chainId,
        epoch: h.epoch,
        height: h.height,
        hash: hex(h.hash),
        stateRoot: hex(h.stateRoot),
        timestampMs: h.timestampMs,
        consensus: config.consensus,
        committee: entry?.members.map(hex) ?? [],
      }
      // In committee mode the orderer is the committee chain (startParts); its orderer's
      // status says where this node is in the DAG.
      if (config.consensus !== 'committee' || orderer === undefined) return base
      const { member, round, committedRound } = (orderer as CommitteeChain).committee.status
      return { ...base, member, round, committedRound }
    },
    async submit(bytes, signal) {
      ready()
      try {
        if (orderer === undefined)
          throw new ChainError('CHAIN_UNAVAILABLE', 'the chain is not started')
        const digest = hex(await orderer.submit(bytes, signal === undefined ? {} : { signal }))
        submitted.labels('accepted').inc()
        return { digest }
      } catch (error) {
        // A code as a label: ours are a short list, a followed node's could be anything.
        const code = (error as { code?: unknown })?.code
        const known = typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,39}$/.test(code)
        submitted.labels(known ? code : 'error').inc()
        throw error
      }
    },
    async transaction(digest) {
      const state = ready()
      const digestHex = hex(digest)
      const pending = { digest: digestHex, status: 'pending' }
      // Pending first: the orderer drops a transaction only after its block is stored, so a
      // transaction not pending now is found executed below if it ever was (the other order
      // misses one that executes between the two looks).
      if (orderer?.pending(digest)) return pending
      const executedAt = async () => {
        const found = await state.transaction(digest)
        if (found === undefined) return undefined
        return {
          ...receiptToJson(found.receipt),
          digest: digestHex,
          height: found.height,
          index: found.index,
        }
      }
      const found = await executedAt()
      if (found !== undefined) return found
      if (follower !== undefined) {
        if (await follower.pending(digestHex)) return pending
        // Executed there meanwhile, and maybe here by now.
        const caughtUp = await executedAt()
        if (caughtUp !== undefined) return caughtUp
      }
      throw new ChainError('CHAIN_TX_UNKNOWN', `no transaction ${digestHex} here`)
    },
    async block(height) {
      const block = await ready().block(height)
      if (block === undefined)
        throw new ChainError(
          'CHAIN_BLOCK_UNKNOWN',
          `no block at height ${height} (the head is at ${ready().head.height})`,
        )
      // The committee's aggregate signature, when this node has it: whoever fetches the block
      // checks it against the committee instead of trusting this node.
      const attestation = await attestations?.get(height)
      // And the committee's signed checkpoint taken after it, if it is one and this node has it.
      const checkpoint = await checkpoints?.signedAt(height)
      return {
        ...blockToJson(block),
        ...(attestation === undefined
          ? {}
          : { attestation: bytesToHex(encodeAttestation(attestation)) }),
        ...(checkpoint === undefined
          ? {}
          : { checkpoint: bytesToHex(encodeSignedCheckpoint(checkpoint)) }),
      }
    },
    async topology() {
      ready()
      return topology?.assignment ?? null
    },
    async checkpoints(fromEpoch) {
      ready()
      const book = checkpoints
      if (book === undefined) throw new ChainError('CHAIN_UNAVAILABLE', 'the chain is not started')
      return checkpointRunToJson(await book.run(fromEpoch))
    },
    async state(table, keyText, height): Promise<StateJson> {
      const state = ready()
      if (!isTableName(table))
        throw new ChainError('CHAIN_UNKNOWN_TABLE', `no table '${table.slice(0, 64)}'`)
      let key: Uint8Array
      try {
        key = parseTableKey(table, keyText)
      } catch (error) {
        if (error instanceof StateError)
          throw new ChainError('CHAIN_BAD_KEY', error.message, { cause: error })
        throw error
      }
      if (key.length === 0) throw new ChainError('CHAIN_BAD_KEY', 'a key is at least one byte')
      if (height !== undefined && height > state.head.height) {
        throw new ChainError(
          'CHAIN_BLOCK_UNKNOWN',
          `no state at height ${height} (the head is at ${state.head.height})`,
        )
      }
      const proved = await state.prove(table, key, height)
      return {
        table,
        key: hex(key),
        height: proved.height,
        root: hex(proved.root),
        value: proved.value === undefined ? null : hex(proved.value),
        entry: proved.value === undefined ? null : entryToJson(table, proved.value),
        proof: hex(proved.proof),
      }
    },
  }

  /** The claim settler: the DA pool's claims on chain every `settleEveryMs`. */
  const settlerOf = (through: Orderer, state: StateExecutor, seed: Uint8Array): Component =>
    createClaimSettler({
      orderer: through,
      executor: state,
      pool: options.pool(),
      nodeSeed: seed,
      everyMs: config.settleEveryMs,
      maxClaims: config.maxClaimsPerSettlement,
      ...(prover === undefined ? {} : { prover, proveFrom: config.proveFrom }),
      logger: log.child({ component: 'claim-settler' }),
    })

  /**
   * The DA batch prover, unless proofs are off or its artifacts are not here. Its worker starts
   * with the first batch to prove (most nodes of a devnet never prove, and a worker holds
   * ~90 MB); a start that fails then (a damaged artifact) fails that proof, whose claims settle
   * natively, and is tried again with the next batch.
   */
  function proverOnDemand(): (ClaimBatchProver & { stop(): Promise<void> }) | undefined {
    if (!config.proveClaims) return undefined
    if (!existsSync(join(DEFAULT_ARTIFACTS_DIR, 'artifacts.json'))) {
      log.warn(
        { dir: DEFAULT_ARTIFACTS_DIR },
        'no DA batch artifacts here: claims settle with a signature check each',
      )
      return undefined
    }
    const worker = createWorkerDaBatchProver({ logger: log })
    let starting: Promise<void> | undefined
    return {
      slots: DA_BATCH_SLOTS,
      async prove(claims, signal) {
        starting ??= worker.start()
        try {
          await starting
        } catch (err) {
          starting = undefined
          throw err
        }
        return worker.prove(claims, signal)
      },
      stop: async () => {
        if (starting !== undefined) await worker.stop()
      },
    }
  }

  async function startParts(): Promise<void> {
    const genesis = await readGenesis(config.genesis)
    prover = proverOnDemand()
    const seed = ed25519SeedOf(options.identity)
    // Synchronous point reads: a state read is ~1 µs of CPU instead of ~40 µs through the
    // thread pool, and execution reads an entry or more per transaction (level-kv-store.ts).
    store = await openLevelKvStore({ dir: join(options.dataDir, CHAIN_DIR), syncReads: true })
    // libsecp256k1 checks account signatures (23× @noble/curves, same answers).
    executor = await StateExecutor.open(store, genesis, { recover: nativeRecover })
    attestations = new AttestationStore(store)
    // Served checkpoints are checked with mcl's WebAssembly pairing (same answers as noble).
    await useMclCheckpointKernel()
    // DA batch proofs likewise (a module instance of its own, on BN254).
    await useMclGroth16Kernel()
    checkpoints = await CheckpointBook.open({
      kv: store,
      genesis: await genesisAnchor(genesis),
      chain: executor,
    })
    const state = executor
    if (config.consensus === 'solo') {
      const solo = createSoloOrderer({
        recover: nativeRecover,
        executor: state,
        nodeSeed: seed,
        blockMs: config.blockMs,
        maxBlockTransactions: config.maxBlockTransactions,
        logger: log.child({ component: 'orderer' }),
        metrics,
      })
      orderer = solo
      solo.onBlock(countBlock)
      parts = [solo, settlerOf(solo, state, seed)]
    } else if (config.consensus === 'committee') {
      const followUrls = config.follow
      // The committee key signs block attestations (devnet writes <dataDir>/bls.key).
      const bls = await loadBlsSecretKey(config.blsKey ?? join(options.dataDir, 'bls.key'))
      const committee = createCommitteeChain({
        executor: state,
        recover: nativeRecover,
        nodeSeed: seed,
        libp2p: options.libp2p(),
        store: new NarwhalStore(store, NARWHAL_PREFIX),
        blsSecretKey: bls.secretKey,
        attestations,
        checkpoints: {
          dst: CHECKPOINT_DST,
          async checkpointOf(block) {
            const body = await checkpoints?.observe(block)
            return body === undefined ? undefined : checkpointHash(body)
          },
          signed: async (height, { signers, signature }) =>
            checkpoints?.putAggregate(height, signers, signature),
        },
        maxBlockTransactions: config.maxBlockTransactions,
        emptyBlockMs: config.blockMs,
        timing: { gcDepth: config.gcDepth },
        metrics,
        logger: log.child({ component: 'committee' }),
        ...(followUrls === undefined
          ? {}
          : {
              follower: () => {
                const next = createChainFollower({
                  executor: state,
                  urls: followUrls,
                  // Blocks of a committee chain come with the committee's signature.
                  ...(attestations === undefined ? {} : { attested: { store: attestations } }),
                  checkpoints: { take: takeServedCheckpoint },
                  submitCopies: 2,
                  pollMs: config.blockMs,
                  logger: log.child({ component: 'follower' }),
                })
                follower = next
                return next
              },
            }),
      })
      orderer = committee
      committee.onBlock(countBlock)
      const duty = createEpochDutyLoop({
        orderer: committee,
        executor: state,
        nodeSeed: seed,
        everyMs: config.blockMs,
        beforeChangeEpoch: (epoch, signal) => committee.runBeforeEpochChange(epoch, signal),
        logger: log.child({ component: 'epoch-duty' }),
      })
      parts = [committee, settlerOf(committee, state, seed), duty]
    } else {
      follower = createChainFollower({
        executor: state,
        urls: config.follow!,
        pollMs: config.blockMs,
        logger: log.child({ component: 'follower' }),
      })
      follower.onBlock(countBlock)
      // The node's own transactions (its DA claims) go to the followed node through it.
      const forwarding = createForwardingOrderer({ executor: state, follower })
      orderer = forwarding
      // The beacon may draw this node into the committee: it then signals and reveals too.
      const duty = createEpochDutyLoop({
        orderer: forwarding,
        executor: state,
        nodeSeed: seed,
        everyMs: config.blockMs,
        beforeChangeEpoch: (epoch, signal) => forwarding.runBeforeEpochChange(epoch, signal),
        logger: log.child({ component: 'epoch-duty' }),
      })
      parts = [follower, forwarding, settlerOf(forwarding, state, seed), duty]
    }
    if (config.measure) {
      reputation = createReputationNode({
        libp2p: options.libp2p(),
        executor: state,
        orderer,
        nodeSeed: seed,
        pingEveryMs: config.pingEveryMs,
        submitCheckMs: Math.max(config.blockMs, 100),
        metrics,
        logger: log,
      })
      parts.push(reputation)
      // The graph is made of those measurements: with them off, no topology is kept.
      topology = createTopologyKeeper({
        libp2p: options.libp2p(),
        executor: state,
        nodeKey: nodeKeyOfSeed(seed),
        checkEveryMs: Math.max(config.blockMs, 250),
        metrics,
        logger: log,
      })
      parts.push(topology)
    }
    // Only what started is stopped again.
    const toStart = parts
    parts = []
    for (const part of toStart) {
      await part.start()
      parts.push(part)
    }
    server = chainProtocolServer({ libp2p: options.libp2p(), api, logger: log, metrics })
    await server.start()
    log.info(
      {
        chainId: state.head.chainId,
        height: state.head.height,
        stateRoot: hex(state.head.stateRoot),
        consensus: config.consensus,
        genesis: config.genesis,
      },
      'chain started',
    )
  }

  async function stopParts(): Promise<void> {
    await server?.stop()
    server = undefined
    for (const part of [...parts].reverse()) await part.stop()
    parts = []
    await prover?.stop()
    prover = undefined
    const head = executor?.head
    executor = undefined
    orderer = undefined
    follower = undefined
    reputation = undefined
    topology = undefined
    await store?.close()
    store = undefined
    attestations = undefined
    checkpoints = undefined
    if (head !== undefined)
      log.info({ height: head.height, stateRoot: hex(head.stateRoot) }, 'chain stopped')
  }

  return {
    name: 'chain',
    api,
    get executor() {
      return executor
    },
    get follower() {
      return follower
    },
    get reputation() {
      return reputation
    },
    get topology() {
      return topology
    },
    async start() {
      try {
        await startParts()
      } catch (error) {
        // Stop only follows a start that resolved: what did start is taken down here.
        await stopParts().catch((e: unknown) => log.warn({ err: e }, 'chain cleanup failed'))
        throw error
      }
    },
    stop: () => stopParts(),
  }
}
