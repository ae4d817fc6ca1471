/**
 * The chain state's data model (issue 15; DESIGN.md "The protocol"): what transactions say,
 * what the tables hold, what a block is and what executing it returns. Types only: the codecs
 * (transaction.ts, block.ts, tables.ts), the executor (executor.ts) and the epoch change
 * (epoch-change.ts and its pure parts) all read this one file, so it is the contract between them.
 *
 * Conventions:
 * - Amounts are `bigint` with 18 decimals (`ONE_TOKEN`); never `number` floats.
 * - Counts, nonces, heights, epochs and times are safe integers (`number`).
 * - Keys are bytes: an account is its 20-byte Ethereum address, a node its 32-byte Ed25519
 *   public key (its libp2p peer id's key), a client its 32-byte EdDSA-Poseidon key.
 * - Fixed-point values (reputation scores, weights) are integers scaled by `FIXED_ONE`.
 */

export const ONE_TOKEN = 10n ** 18n
/** Scale of fixed-point numbers in the protocol (6 decimals). */
export const FIXED_ONE = 1_000_000n

export const ADDRESS_LEN = 20
export const NODE_KEY_LEN = 32
export const CLIENT_KEY_LEN = 32
export const BLS_KEY_LEN = 96
export const BLS_SIGNATURE_LEN = 48
export const DIGEST_LEN = 32
/** secp256k1 r ‖ s ‖ v (v = 27 or 28), as Ethereum wallets return from `personal_sign`. */
export const ACCOUNT_SIGNATURE_LEN = 65
export const NODE_SIGNATURE_LEN = 64

export type Address = Uint8Array
export type NodeKey = Uint8Array
export type ClientKeyBytes = Uint8Array
export type BlsKey = Uint8Array
export type Digest = Uint8Array

/** Tokens an account holds. FLK is staked and earned; stables pay for commodities. */
export type Token = 'FLK' | 'USDC'

/** 0 bandwidth (units of bytes, as the DA commitment's `unit` says), 1 compute. */
export type Commodity = 0 | 1

// --- transactions ---------------------------------------------------------------------------

/** Who signed: an account (secp256k1, EIP-191 over the digest) or a node (Ed25519). */
export type Sender =
  | { readonly kind: 'account'; readonly address: Address }
  | { readonly kind: 'node'; readonly key: NodeKey }

/** What one node reports about another for one epoch (whitepaper Appendix A; Lightning's
 * `ReputationMeasurements`). Every field optional: a node reports what it measured. */
export interface Measurements {
  /** Mean round-trip latency, microseconds. */
  readonly latencyUs?: number
  /** Successful interactions minus failed ones (may be negative). */
  readonly interactions?: number
  /** Bytes per second, measured. */
  readonly inboundBandwidth?: number
  readonly outboundBandwidth?: number
  readonly bytesReceived?: number
  readonly bytesSent?: number
  /** Share of probes answered, fixed-point (FIXED_ONE = 100 %). */
  readonly uptime?: number
  readonly hops?: number
}

/** The measurement fields, in the order encoders write them. */
export const MEASUREMENT_FIELDS = [
  'latencyUs',
  'interactions',
  'inboundBandwidth',
  'outboundBandwidth',
  'bytesReceived',
  'bytesSent',
  'uptime',
  'hops',
] as const satisfies readonly (keyof Measurements)[]

export interface MeasurementReport {
  readonly subject: NodeKey
  readonly measurements: Measurements
}

/** Governance-tunable parameters (`ChangeProtocolParam`); values are integers. */
export type ProtocolParam =
  /** Milliseconds an epoch lasts. */
  | 'epochTimeMs'
  /** Committee size. */
  | 'committeeSize'
  /** FLK a node must have staked to be active (ONE_TOKEN units). */
  | 'minimumNodeStake'
  /** Longest `StakeLock`, epochs. */
  | 'maxStakeLockEpochs'
  /** Epochs an unstaked amount waits before `WithdrawUnstaked`. */
  | 'unstakeDelayEpochs'
  /** Yearly FLK inflation, fixed-point (FIXED_ONE = 100 %). */
  | 'maxInflation'
  /** Share of stables revenue to nodes / to the protocol / to the service builder,
   * fixed-point, summing to FIXED_ONE. */
  | 'nodeShare'
  | 'protocolShare'
  | 'serviceBuilderShare'
  /** Largest boost a full lock earns, fixed-point (e.g. 4 × FIXED_ONE). */
  | 'maxBoost'
  /** Epochs per year, for emissions. */
  | 'epochsPerYear'
  /** Beacon commit and reveal phase lengths, in blocks. */
  | 'beaconCommitBlocks'
  | 'beaconRevealBlocks'
  /** FLK slashed from a node that committed and did not reveal. */
  | 'beaconNonRevealSlash'
  /** Most measurement reports in one `SubmitReputationMeasurements`. */
  | 'maxMeasurements'
  /** Most claims in one `SubmitDeliveryClaims`. */
  | 'maxClaimsPerTransaction'

export type Method =
  /** Mints `amount` of `token` to `to`; only the genesis bridge account may send it. */
  | {
      readonly type: 'Deposit'
      readonly to: Address
      readonly token: Token
      readonly amount: bigint
    }
  | {
      readonly type: 'Transfer'
      readonly to: Address
      readonly token: Token
      readonly amount: bigint
    }
  /** Binds a client key to the sending account, which then pays for what the key acknowledges. */
  | { readonly type: 'RegisterClientKey'; readonly clientKey: ClientKeyBytes }
  /**
   * Stakes FLK on a node. The first stake registers it and must carry its BLS key, a proof of
   * possession of that key and its addresses; a later stake by the same owner tops it up.
   */
  | {
      readonly type: 'Stake'
      readonly node: NodeKey
      readonly amount: bigint
      readonly bls?: { readonly key: BlsKey; readonly proofOfPossession: Uint8Array }
      /** Multiaddrs and the HTTP gateway URL, as strings. */
      readonly addresses?: readonly string[]
    }
  | { readonly type: 'StakeLock'; readonly node: NodeKey; readonly epochs: number }
  | { readonly type: 'Unstake'; readonly node: NodeKey; readonly amount: bigint }
  | { readonly type: 'WithdrawUnstaked'; readonly node: NodeKey; readonly to?: Address }
  /** Node-signed: take part (or stop) from the next epoch. */
  | { readonly type: 'OptIn' }
  | { readonly type: 'OptOut' }
  /**
   * Node-signed: claims as `src/acks` encodes them (230 bytes each). With `proofs`, the claims
   * come in batches of DA_BATCH_SLOTS, each proven by one 256-byte Groth16 proof instead of
   * a signature check per claim (src/acks/proven-claims.ts).
   */
  | {
      readonly type: 'SubmitDeliveryClaims'
      readonly claims: readonly Uint8Array[]
      readonly proofs?: readonly Uint8Array[]
    }
  | {
      readonly type: 'SubmitReputationMeasurements'
      readonly reports: readonly MeasurementReport[]
    }
  /** Node-signed by a committee member: the epoch's time is up. */
  | { readonly type: 'ChangeEpoch'; readonly epoch: number }
  /** commit = beaconCommitOf(epoch, round, reveal). */
  | { readonly type: 'BeaconCommit'; readonly commit: Digest }
  | { readonly type: 'BeaconReveal'; readonly reveal: Uint8Array }
  | { readonly type: 'BeaconCommitTimeout'; readonly epoch: number; readonly round: number }
  | { readonly type: 'BeaconRevealTimeout'; readonly epoch: number; readonly round: number }
  /** Only the genesis governance account may send it. */
  | { readonly type: 'ChangeProtocolParam'; readonly param: ProtocolParam; readonly value: bigint }
  /** Node-signed: content roots the node now holds / no longer holds. */
  | {
      readonly type: 'UpdateContentRegistry'
      readonly add: readonly Digest[]
      readonly remove: readonly Digest[]
    }

export type MethodType = Method['type']

export interface TransactionPayload {
  readonly chainId: number
  readonly sender: Sender
  /** The sender's nonce after this transaction: exactly its current nonce + 1. */
  readonly nonce: number
  readonly method: Method
}

export interface Transaction {
  readonly payload: TransactionPayload
  /** ACCOUNT_SIGNATURE_LEN for an account sender, NODE_SIGNATURE_LEN for a node. */
  readonly signature: Uint8Array
}

// --- tables ---------------------------------------------------------------------------------

/** Table names as they appear in the state tree, in `GET /chain/state/<table>/<key>` and in
 * `fulmen state <table> <key>`. */
export type TableName =
  | 'metadata'
  | 'accounts'
  | 'clientKeys'
  | 'nodes'
  | 'committees'
  | 'params'
  | 'served'
  | 'epochTotals'
  | 'measurements'
  | 'reputation'
  | 'latencies'
  | 'prices'
  | 'content'
  | 'executed'
  | 'settled'

export type BeaconPhase =
  | { readonly kind: 'none' }
  | { readonly kind: 'commit'; readonly round: number; readonly startHeight: number }
  | { readonly kind: 'reveal'; readonly round: number; readonly startHeight: number }

/** metadata/"chain" */
export interface ChainMetadata {
  readonly chainId: number
  readonly epoch: number
  /** Height of the last executed block (genesis state: 0). */
  readonly height: number
  /** Timestamp (ms) of the block that started this epoch. */
  readonly epochStartMs: number
  readonly beacon: BeaconPhase
  /** Genesis-named keys. */
  readonly bridge: Address
  readonly governance: Address
  /** FLK in existence at the start of the current year (for emissions) and now. */
  readonly supplyYearStart: bigint
  readonly supply: bigint
}

/** accounts/<address> */
export interface AccountEntry {
  readonly flk: bigint
  readonly stables: bigint
  readonly nonce: number
}

/** clientKeys/<client key> */
export interface ClientKeyEntry {
  readonly account: Address
}

export type Participation = 'true' | 'false' | 'optedIn' | 'optedOut'

/** nodes/<node key> */
export interface NodeEntry {
  readonly owner: Address
  readonly blsKey: BlsKey
  readonly addresses: readonly string[]
  readonly staked: bigint
  /** Unstaked, waiting until `unlocksAtEpoch`. */
  readonly unstaking: readonly { readonly amount: bigint; readonly unlocksAtEpoch: number }[]
  /** Stake may not be unstaked before this epoch; also the lock boost. */
  readonly lockedUntilEpoch: number
  readonly participation: Participation
  readonly nonce: number
  readonly registeredAtEpoch: number
}

/** committees/<epoch u64be> */
export interface CommitteeEntry {
  readonly members: readonly NodeKey[]
  /** Members that signalled ChangeEpoch for this epoch. */
  readonly readyToChange: readonly NodeKey[]
  /** Nodes active in this epoch (staked ≥ minimum, participating): they may serve and earn. */
  readonly activeNodes: readonly NodeKey[]
  /** The beacon: commits and reveals of this epoch's current round, by node. */
  readonly beaconCommits: readonly { readonly node: NodeKey; readonly commit: Digest }[]
  readonly beaconReveals: readonly { readonly node: NodeKey; readonly reveal: Uint8Array }[]
}

/** served/<node key ‖ epoch u64be ‖ commodity u8> */
export interface ServedEntry {
  readonly units: bigint
  /** Stables the node's clients paid for them. */
  readonly revenue: bigint
}

/** epochTotals/<epoch u64be>: what all nodes served and the pool to share out. */
export interface EpochTotals {
  readonly served: readonly bigint[]
  readonly revenue: bigint
}

/** settled/<client key ‖ session u64be ‖ seq u32be ‖ node key>: units settled so far. */
export interface SettledEntry {
  readonly index: number
}

// --- blocks ---------------------------------------------------------------------------------

/** What an orderer decides: which transactions, in which order, at which height and time. */
export interface BlockBody {
  readonly chainId: number
  readonly height: number
  /** Hash of the previous block's header (genesis: the genesis hash). */
  readonly parent: Digest
  readonly timestampMs: number
  /** Encoded transactions, as received; one that does not decode gets a TX_MALFORMED receipt. */
  readonly transactions: readonly Uint8Array[]
}

/** What executing the body gives: the header everyone signs. */
export interface BlockHeader {
  readonly chainId: number
  readonly height: number
  readonly parent: Digest
  readonly timestampMs: number
  /** Epoch after the block (an epoch change inside it shows here). */
  readonly epoch: number
  readonly transactionsRoot: Digest
  readonly receiptsRoot: Digest
  readonly stateRoot: Digest
}

/** Why a transaction did nothing but (where it authenticated) take its nonce. */
export type RevertCode =
  | 'TX_MALFORMED'
  | 'TX_BAD_SIGNATURE'
  | 'TX_WRONG_CHAIN'
  | 'TX_NONCE'
  | 'TX_ALREADY_EXECUTED'
  | 'TX_WRONG_SIGNER'
  | 'TX_UNKNOWN_ACCOUNT'
  | 'TX_UNKNOWN_NODE'
  | 'TX_INSUFFICIENT_BALANCE'
  | 'TX_INSUFFICIENT_STAKE'
  | 'TX_STAKE_LOCKED'
  | 'TX_NOT_OWNER'
  | 'TX_BAD_PROOF_OF_POSSESSION'
  | 'TX_NODE_EXISTS'
  | 'TX_CLIENT_KEY_TAKEN'
  | 'TX_NOT_COMMITTEE'
  | 'TX_WRONG_EPOCH'
  | 'TX_BEACON_PHASE'
  | 'TX_BEACON_MISMATCH'
  | 'TX_INVALID_CLAIM'
  | 'TX_TOO_LARGE'
  | 'TX_INVALID_PARAM'

export interface Receipt {
  /** The transaction's digest; absent for bytes that did not decode. */
  readonly digest?: Digest
  readonly status: 'ok' | RevertCode
  /** For people: what went wrong. */
  readonly message?: string
  /** Did it take the sender's nonce (authenticated, right chain, right nonce)? */
  readonly nonceTaken: boolean
  /** Typed facts: claims settled, units credited, epoch changed to… */
  readonly events?: readonly ChainEvent[]
}

export type ChainEvent =
  | {
      readonly type: 'ClaimSettled'
      readonly node: NodeKey
      readonly clientKey: ClientKeyBytes
      readonly units: number
      readonly paid: bigint
    }
  | { readonly type: 'ClaimRejected'; readonly index: number; readonly reason: string }
  | { readonly type: 'EpochChanged'; readonly epoch: number }
  | {
      readonly type: 'Reward'
      readonly node: NodeKey
      readonly flk: bigint
      readonly stables: bigint
    }
  | { readonly type: 'Slashed'; readonly node: NodeKey; readonly amount: bigint }

// --- genesis --------------------------------------------------------------------------------

export interface GenesisNode {
  readonly key: NodeKey
  readonly owner: Address
  readonly blsKey: BlsKey
  readonly addresses: readonly string[]
  readonly stake: bigint
}

export interface Genesis {
  readonly chainId: number
  /** Block 0's timestamp. */
  readonly timestampMs: number
  readonly bridge: Address
  readonly governance: Address
  readonly params: Readonly<Record<ProtocolParam, bigint>>
  /** Stables (18 decimals) per base unit of each commodity (index = commodity): per byte of
   * bandwidth, per compute unit. A claim of `i` units of `unit` bytes pays i × unit × price. */
  readonly prices: readonly bigint[]
  readonly accounts: readonly {
    readonly address: Address
    readonly flk: bigint
    readonly stables: bigint
  }[]
  readonly nodes: readonly GenesisNode[]
  /** The first committee (node keys among `nodes`). */
  readonly committee: readonly NodeKey[]
}

// --- the executor's face --------------------------------------------------------------------

export interface ChainHead {
  readonly chainId: number
  readonly height: number
  readonly epoch: number
  /** Hash of the head's header (before block 1: the genesis hash). */
  readonly hash: Digest
  readonly stateRoot: Digest
  readonly timestampMs: number
}

export interface ExecutedBlock {
  readonly header: BlockHeader
  /** blockHash(header). */
  readonly hash: Digest
  readonly body: BlockBody
  readonly receipts: readonly Receipt[]
}

export interface TransactionLocation {
  readonly height: number
  /** Position in the block's transactions. */
  readonly index: number
  readonly receipt: Receipt
}

/**
 * The state as an orderer and a node see it (executor.ts implements it over a KvStore): execute
 * the next block body, read and prove entries of the latest state. Execution is deterministic:
 * the same bodies from the same genesis give the same headers in Node and in a browser.
 */
export interface ChainExecutor {
  readonly head: ChainHead
  /**
   * Executes `body` (height head.height + 1, parent head.hash) and persists the result.
   * `verified` names (hex digests) transactions of the body whose signatures this node checked
   * already, at admission: they are not checked twice. A node that did not admit them (a
   * follower) passes nothing and checks every one.
   */
  execute(
    body: BlockBody,
    options?: { readonly verified?: ReadonlySet<string> },
  ): Promise<ExecutedBlock>
  get(table: TableName, key: Uint8Array): Promise<Uint8Array | undefined>
  /** An executed block by height (1…head.height); undefined above the head. */
  block(height: number): Promise<ExecutedBlock | undefined>
  /** Where a transaction (by digest) was executed, with its receipt; undefined if never. */
  transaction(digest: Digest): Promise<TransactionLocation | undefined>
  prove(
    table: TableName,
    key: Uint8Array,
  ): Promise<{ value: Uint8Array | undefined; proof: Uint8Array; root: Digest; height: number }>
}
