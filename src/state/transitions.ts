/**
 * What each transaction does to the state (Lightning's `core/application/src/state/executor.rs`,
 * method by method). `applyTransaction` authenticates (decode, chain, signature, sender, nonce),
 * takes the nonce, then runs the method in its own layer of the BlockState: a method that
 * reverts leaves only the nonce and the executed digest behind.
 *
 * All arithmetic is on bigint amounts and integer counts: Node and a browser compute the same.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { checkClaims } from '../acks/claim.ts'
import { checkProvenClaims } from '../acks/proven-claims.ts'
import { equalBytes } from '../core/bytes.ts'
import { beaconCommitOf } from './beacon.ts'
import { type BlockContext, type BlockState, EMPTY_ACCOUNT, metadataOf } from './block-state.ts'
import { runEpochChange } from './epoch-change.ts'
import type {
  AccountEntry,
  Address,
  ChainEvent,
  ChainMetadata,
  Digest,
  Method,
  NodeEntry,
  ProtocolParam,
  Receipt,
  RevertCode,
  Transaction,
} from './model.ts'
import { paramsProblem } from './params.ts'
import { measurementsValid } from './reputation-score.ts'
import { METADATA_KEY, tableKeys } from './tables.ts'
import {
  decodeTransactionWithDigest,
  isValidNodeKey,
  TransactionError,
  verifyBlsPossession,
  verifyDigestSignature,
} from './transaction.ts'

/** A method's failure: the receipt's code and message. */
export class Revert extends Error {
  readonly code: RevertCode
  constructor(code: RevertCode, message: string) {
    super(message)
    this.code = code
  }
}

const revert = (code: RevertCode, message: string): never => {
  throw new Revert(code, message)
}

const ACCOUNT_METHODS = new Set<Method['type']>([
  'Deposit',
  'Transfer',
  'RegisterClientKey',
  'Stake',
  'StakeLock',
  'Unstake',
  'WithdrawUnstaked',
  'ChangeProtocolParam',
])

/** 2f + 1 of n = 3f + 1 (at least two thirds, plus one when n is a multiple of three). */
export function quorumOf(n: number): number {
  return n - Math.floor((n - 1) / 3)
}

/**
 * Executes one transaction's bytes in `state` and returns its receipt; never throws for
 * anything the bytes say (a bug in a transition still throws: the block must not be made).
 */
export async function applyTransaction(
  state: BlockState,
  bytes: Uint8Array,
  index: number,
  ctx: BlockContext,
): Promise<Receipt> {
  let decoded: { tx: Transaction; digest: Digest }
  try {
    decoded = decodeTransactionWithDigest(bytes)
  } catch (e) {
    if (e instanceof TransactionError)
      return { status: e.code, message: e.message, nonceTaken: false }
    throw e
  }
  const { tx, digest } = decoded
  const { payload } = tx
  const fail = (status: RevertCode, message: string): Receipt => ({
    digest,
    status,
    message,
    nonceTaken: false,
  })
  if (payload.chainId !== ctx.chainId) {
    return fail(
      'TX_WRONG_CHAIN',
      `the transaction is for chain ${payload.chainId}, not ${ctx.chainId}`,
    )
  }
  // The cheap checks first, the signature last: a transaction that could not take effect
  // (no sender entry, a nonce not next) costs no signature check. A nonce not next is a replay
  // when the digest was executed: only then is `executed` read (one store read fewer per
  // transaction than reading it for every one).
  const nonceProblem = async (current: number): Promise<Receipt | undefined> => {
    if (payload.nonce === current + 1) return undefined
    if ((await state.get('executed', digest)) !== undefined) {
      return fail('TX_ALREADY_EXECUTED', 'a transaction with this digest was executed before')
    }
    return fail('TX_NONCE', `the nonce must be ${current + 1}, got ${payload.nonce}`)
  }
  const sender = payload.sender
  let account: AccountEntry | undefined
  let node: NodeEntry | undefined
  if (sender.kind === 'account') {
    account = await state.get('accounts', sender.address)
    if (account === undefined) return fail('TX_UNKNOWN_ACCOUNT', 'the sending account has no entry')
    const problem = await nonceProblem(account.nonce)
    if (problem !== undefined) return problem
  } else {
    node = await state.get('nodes', sender.key)
    if (node === undefined) return fail('TX_UNKNOWN_NODE', 'the sending node is not registered')
    const problem = await nonceProblem(node.nonce)
    if (problem !== undefined) return problem
  }
  if (!ctx.verified?.has(bytesToHex(digest)) && !verifyDigestSignature(tx, digest, ctx.recover)) {
    return fail('TX_BAD_SIGNATURE', 'the signature does not verify for the sender')
  }
  // Authenticated, for this chain, the next nonce: the nonce is taken whatever the method does.
  if (sender.kind === 'account') {
    state.put('accounts', sender.address, { ...(account as AccountEntry), nonce: payload.nonce })
  } else {
    state.put('nodes', sender.key, { ...(node as NodeEntry), nonce: payload.nonce })
  }
  state.put('executed', digest, { height: ctx.height, index })

  const method = payload.method
  const isAccountMethod = ACCOUNT_METHODS.has(method.type)
  if (isAccountMethod !== (sender.kind === 'account')) {
    return {
      digest,
      status: 'TX_WRONG_SIGNER',
      message: `${method.type} is sent by ${isAccountMethod ? 'an account' : 'a node'}`,
      nonceTaken: true,
    }
  }
  state.begin()
  try {
    const events: ChainEvent[] = []
    const senderId = sender.kind === 'account' ? sender.address : sender.key
    await runMethod(state, method, senderId, ctx, events)
    state.keep()
    return { digest, status: 'ok', nonceTaken: true, ...(events.length > 0 ? { events } : {}) }
  } catch (e) {
    state.drop()
    if (e instanceof Revert) {
      const events = (e as Revert & { events?: ChainEvent[] }).events
      return {
        digest,
        status: e.code,
        message: e.message,
        nonceTaken: true,
        ...(events !== undefined && events.length > 0 ? { events } : {}),
      }
    }
    throw e
  }
}

async function accountOf(state: BlockState, address: Address): Promise<AccountEntry> {
  return (await state.get('accounts', address)) ?? EMPTY_ACCOUNT
}

async function ownedNode(state: BlockState, key: Uint8Array, owner: Address): Promise<NodeEntry> {
  const node = await state.get('nodes', key)
  if (node === undefined) return revert('TX_UNKNOWN_NODE', 'the node is not registered')
  if (!equalBytes(node.owner, owner))
    return revert('TX_NOT_OWNER', 'the node belongs to another account')
  return node
}

function debit(account: AccountEntry, token: 'FLK' | 'USDC', amount: bigint): AccountEntry {
  const held = token === 'FLK' ? account.flk : account.stables
  if (held < amount)
    revert('TX_INSUFFICIENT_BALANCE', `the account holds ${held} of ${token}, not ${amount}`)
  return token === 'FLK'
    ? { ...account, flk: held - amount }
    : { ...account, stables: held - amount }
}

function credit(account: AccountEntry, token: 'FLK' | 'USDC', amount: bigint): AccountEntry {
  return token === 'FLK'
    ? { ...account, flk: account.flk + amount }
    : { ...account, stables: account.stables + amount }
}

async function runMethod(
  state: BlockState,
  method: Method,
  sender: Uint8Array,
  ctx: BlockContext,
  events: ChainEvent[],
): Promise<void> {
  switch (method.type) {
    case 'Deposit': {
      const meta = await metadataOf(state)
      if (!equalBytes(sender, meta.bridge))
        revert('TX_WRONG_SIGNER', 'only the bridge key deposits')
      state.put(
        'accounts',
        method.to,
        credit(await accountOf(state, method.to), method.token, method.amount),
      )
      if (method.token === 'FLK')
        state.put('metadata', METADATA_KEY, { ...meta, supply: meta.supply + method.amount })
      return
    }
    case 'Transfer': {
      const from = debit(await accountOf(state, sender), method.token, method.amount)
      state.put('accounts', sender, from)
      state.put(
        'accounts',
        method.to,
        credit(await accountOf(state, method.to), method.token, method.amount),
      )
      return
    }
    case 'RegisterClientKey': {
      const held = await state.get('clientKeys', method.clientKey)
      if (held !== undefined && !equalBytes(held.account, sender)) {
        revert('TX_CLIENT_KEY_TAKEN', 'the client key is registered to another account')
      }
      state.put('clientKeys', method.clientKey, { account: sender })
      return
    }
    case 'Stake':
      return stake(state, method, sender)
    case 'StakeLock': {
      const node = await ownedNode(state, method.node, sender)
      const meta = await metadataOf(state)
      if (method.epochs < 1 || BigInt(method.epochs) > ctx.params.maxStakeLockEpochs) {
        revert('TX_INVALID_PARAM', `a lock is 1..${ctx.params.maxStakeLockEpochs} epochs`)
      }
      const until = Math.max(node.lockedUntilEpoch, meta.epoch + method.epochs)
      state.put('nodes', method.node, { ...node, lockedUntilEpoch: until })
      return
    }
    case 'Unstake': {
      const node = await ownedNode(state, method.node, sender)
      const meta = await metadataOf(state)
      if (node.lockedUntilEpoch > meta.epoch) {
        revert('TX_STAKE_LOCKED', `the stake is locked until epoch ${node.lockedUntilEpoch}`)
      }
      if (method.amount > node.staked) revert('TX_INSUFFICIENT_STAKE', `${node.staked} is staked`)
      const unlocksAtEpoch = meta.epoch + Number(ctx.params.unstakeDelayEpochs)
      state.put('nodes', method.node, {
        ...node,
        staked: node.staked - method.amount,
        unstaking: [...node.unstaking, { amount: method.amount, unlocksAtEpoch }],
      })
      return
    }
    case 'WithdrawUnstaked': {
      const node = await ownedNode(state, method.node, sender)
      const meta = await metadataOf(state)
      let amount = 0n
      const waiting = node.unstaking.filter((u) => {
        if (u.unlocksAtEpoch > meta.epoch) return true
        amount += u.amount
        return false
      })
      if (amount === 0n) revert('TX_STAKE_LOCKED', 'nothing unstaked is withdrawable yet')
      state.put('nodes', method.node, { ...node, unstaking: waiting })
      const to = method.to ?? sender
      state.put('accounts', to, credit(await accountOf(state, to), 'FLK', amount))
      return
    }
    case 'OptIn':
    case 'OptOut': {
      const node = (await state.get('nodes', sender)) as NodeEntry
      state.put('nodes', sender, {
        ...node,
        participation: method.type === 'OptIn' ? 'optedIn' : 'optedOut',
      })
      return
    }
    case 'SubmitDeliveryClaims':
      return settleClaims(state, method, sender, ctx, events)
    case 'SubmitReputationMeasurements': {
      if (BigInt(method.reports.length) > ctx.params.maxMeasurements) {
        revert('TX_TOO_LARGE', `at most ${ctx.params.maxMeasurements} reports`)
      }
      const meta = await metadataOf(state)
      for (const report of method.reports) {
        if (equalBytes(report.subject, sender)) continue
        if ((await state.get('nodes', report.subject)) === undefined) continue
        if (!measurementsValid(report.measurements)) continue
        state.put(
          'measurements',
          tableKeys.measurement(meta.epoch, report.subject, sender),
          report.measurements,
        )
        const latencyUs = report.measurements.latencyUs
        if (latencyUs !== undefined) {
          state.put('latencies', tableKeys.latency(sender, report.subject), {
            latencyUs,
            epoch: meta.epoch,
          })
        }
      }
      return
    }
    case 'ChangeEpoch':
      return changeEpochSignal(state, method.epoch, sender, ctx)
    case 'BeaconCommit':
    case 'BeaconReveal':
    case 'BeaconCommitTimeout':
    case 'BeaconRevealTimeout':
      return beaconStep(state, method, sender, ctx, events)
    case 'ChangeProtocolParam': {
      const meta = await metadataOf(state)
      if (!equalBytes(sender, meta.governance))
        revert('TX_WRONG_SIGNER', 'only the governance key changes parameters')
      const next = { ...ctx.params, [method.param]: method.value }
      checkParams(next)
      state.put('params', tableKeys.param(method.param), { value: method.value })
      return
    }
    case 'UpdateContentRegistry': {
      const meta = await metadataOf(state)
      for (const root of method.add)
        state.put('content', tableKeys.content(root, sender), { epoch: meta.epoch })
      for (const root of method.remove) state.delete('content', tableKeys.content(root, sender))
      return
    }
  }
}

export function checkParams(p: Readonly<Record<ProtocolParam, bigint>>): void {
  const problem = paramsProblem(p)
  if (problem !== undefined) revert('TX_INVALID_PARAM', problem)
}

async function stake(
  state: BlockState,
  method: Extract<Method, { type: 'Stake' }>,
  sender: Address,
): Promise<void> {
  const account = debit(await accountOf(state, sender), 'FLK', method.amount)
  const existing = await state.get('nodes', method.node)
  if (existing !== undefined) {
    if (!equalBytes(existing.owner, sender))
      revert('TX_NOT_OWNER', 'the node belongs to another account')
    if (method.bls !== undefined || method.addresses !== undefined) {
      revert('TX_NODE_EXISTS', 'the node is registered: a top-up carries no keys or addresses')
    }
    state.put('nodes', method.node, { ...existing, staked: existing.staked + method.amount })
  } else {
    if (method.bls === undefined || method.addresses === undefined) {
      revert(
        'TX_BAD_PROOF_OF_POSSESSION',
        "a first stake carries the node's BLS key, its proof and addresses",
      )
    }
    if (!isValidNodeKey(method.node)) {
      revert('TX_INVALID_PARAM', 'the node key is not a usable Ed25519 public key')
    }
    const bls = method.bls as NonNullable<typeof method.bls>
    if (!verifyBlsPossession(bls.key, bls.proofOfPossession)) {
      revert('TX_BAD_PROOF_OF_POSSESSION', 'the BLS proof of possession does not verify')
    }
    const meta = await metadataOf(state)
    state.put('nodes', method.node, {
      owner: sender,
      blsKey: bls.key,
      addresses: method.addresses ?? [],
      staked: method.amount,
      unstaking: [],
      lockedUntilEpoch: 0,
      participation: 'optedIn',
      nonce: 0,
      registeredAtEpoch: meta.epoch,
    })
  }
  state.put('accounts', sender, account)
}

/** Rejects one claim with its reason, as an event; the others still settle. */
function rejectClaim(events: ChainEvent[], index: number, reason: string): void {
  events.push({ type: 'ClaimRejected', index, reason })
}

async function settleClaims(
  state: BlockState,
  { claims, proofs }: { claims: readonly Uint8Array[]; proofs?: readonly Uint8Array[] },
  sender: Uint8Array,
  ctx: BlockContext,
  events: ChainEvent[],
): Promise<void> {
  if (BigInt(claims.length) > ctx.params.maxClaimsPerTransaction) {
    revert(
      'TX_TOO_LARGE',
      `at most ${ctx.params.maxClaimsPerTransaction} claims in one transaction`,
    )
  }
  const meta = await metadataOf(state)
  let settledAny = false
  // Signatures are checked together: one Groth16 proof per batch of claims when the node proved
  // them, else one batch equation for the transaction's claims. The rest is the same.
  const checks = proofs === undefined ? checkClaims(claims) : checkProvenClaims(claims, proofs)
  for (let i = 0; i < claims.length; i++) {
    const check = checks[i]!
    if (!check.ok) {
      rejectClaim(events, i, check.error.message)
      continue
    }
    const { commitment } = check
    const index = check.claim.index
    if (!equalBytes(commitment.nodeKey, sender)) {
      rejectClaim(events, i, 'the claim is for another node')
      continue
    }
    const owner = await state.get('clientKeys', commitment.clientKey)
    if (owner === undefined) {
      rejectClaim(events, i, 'the client key is not registered to an account')
      continue
    }
    const key = tableKeys.settled(commitment.clientKey, commitment.session, commitment.seq, sender)
    const before = (await state.get('settled', key))?.index ?? 0
    if (index <= before) {
      rejectClaim(events, i, `units up to ${before} are settled already`)
      continue
    }
    const units = index - before
    const commodity = commitment.commodity
    const price = (await state.get('prices', tableKeys.price(commodity)))?.price
    if (price === undefined) {
      rejectClaim(events, i, `commodity ${commodity} has no price`)
      continue
    }
    const baseUnits = BigInt(units) * BigInt(commitment.unit)
    const paid = baseUnits * price
    const payer = await accountOf(state, owner.account)
    if (payer.stables < paid) {
      rejectClaim(events, i, "the client's account cannot pay for the units")
      continue
    }
    state.put('accounts', owner.account, { ...payer, stables: payer.stables - paid })
    state.put('settled', key, { index })
    const servedKey = tableKeys.served(sender, meta.epoch, commodity)
    const served = (await state.get('served', servedKey)) ?? { units: 0n, revenue: 0n }
    state.put('served', servedKey, {
      units: served.units + baseUnits,
      revenue: served.revenue + paid,
    })
    const totalsKey = tableKeys.epochTotals(meta.epoch)
    const totals = (await state.get('epochTotals', totalsKey)) ?? { served: [0n, 0n], revenue: 0n }
    const servedTotals = [...totals.served]
    while (servedTotals.length <= commodity) servedTotals.push(0n)
    servedTotals[commodity] = (servedTotals[commodity] as bigint) + baseUnits
    state.put('epochTotals', totalsKey, { served: servedTotals, revenue: totals.revenue + paid })
    events.push({
      type: 'ClaimSettled',
      node: sender,
      clientKey: commitment.clientKey,
      units,
      paid,
    })
    settledAny = true
  }
  if (!settledAny) {
    const error = new Revert('TX_INVALID_CLAIM', 'no claim settled (see the ClaimRejected events)')
    Object.assign(error, { events: [...events] })
    throw error
  }
}

async function committeeMember(state: BlockState, meta: ChainMetadata, node: Uint8Array) {
  const committee = await state.get('committees', tableKeys.committee(meta.epoch))
  if (committee === undefined || !committee.members.some((m) => equalBytes(m, node))) {
    revert('TX_NOT_COMMITTEE', `the node is not in epoch ${meta.epoch}'s committee`)
  }
  return committee as NonNullable<typeof committee>
}

async function changeEpochSignal(
  state: BlockState,
  epoch: number,
  sender: Uint8Array,
  ctx: BlockContext,
): Promise<void> {
  const meta = await metadataOf(state)
  const committee = await committeeMember(state, meta, sender)
  if (epoch !== meta.epoch) revert('TX_WRONG_EPOCH', `the epoch is ${meta.epoch}, not ${epoch}`)
  if (ctx.timestampMs < meta.epochStartMs + Number(ctx.params.epochTimeMs)) {
    revert(
      'TX_WRONG_EPOCH',
      `epoch ${epoch} runs until ${meta.epochStartMs + Number(ctx.params.epochTimeMs)} ms`,
    )
  }
  if (meta.beacon.kind !== 'none') return // the change is under way: a late signal does nothing
  if (committee.readyToChange.some((m) => equalBytes(m, sender))) return
  const ready = [...committee.readyToChange, sender]
  state.put('committees', tableKeys.committee(meta.epoch), { ...committee, readyToChange: ready })
  if (ready.length >= quorumOf(committee.members.length)) {
    state.put('metadata', METADATA_KEY, {
      ...meta,
      beacon: { kind: 'commit', round: 0, startHeight: ctx.height },
    })
  }
}

async function beaconStep(
  state: BlockState,
  method: Extract<
    Method,
    { type: 'BeaconCommit' | 'BeaconReveal' | 'BeaconCommitTimeout' | 'BeaconRevealTimeout' }
  >,
  sender: Uint8Array,
  ctx: BlockContext,
  events: ChainEvent[],
): Promise<void> {
  const meta = await metadataOf(state)
  const committee = await committeeMember(state, meta, sender)
  const key = tableKeys.committee(meta.epoch)
  const phase = meta.beacon
  if (phase.kind === 'none') revert('TX_BEACON_PHASE', 'no beacon is running')
  const { round, startHeight } = phase as Exclude<typeof phase, { kind: 'none' }>
  switch (method.type) {
    case 'BeaconCommit': {
      if (phase.kind !== 'commit') revert('TX_BEACON_PHASE', 'the beacon is not taking commits')
      if (ctx.height >= startHeight + Number(ctx.params.beaconCommitBlocks)) {
        revert('TX_BEACON_PHASE', 'the commit phase is over')
      }
      if (committee.beaconCommits.some((c) => equalBytes(c.node, sender))) {
        revert('TX_BEACON_PHASE', 'the node committed already')
      }
      const commits = [...committee.beaconCommits, { node: sender, commit: method.commit }]
      state.put('committees', key, { ...committee, beaconCommits: commits })
      if (commits.length === committee.members.length) {
        state.put('metadata', METADATA_KEY, {
          ...meta,
          beacon: { kind: 'reveal', round, startHeight: ctx.height },
        })
      }
      return
    }
    case 'BeaconReveal': {
      if (phase.kind !== 'reveal') revert('TX_BEACON_PHASE', 'the beacon is not taking reveals')
      if (ctx.height >= startHeight + Number(ctx.params.beaconRevealBlocks)) {
        revert('TX_BEACON_PHASE', 'the reveal phase is over')
      }
      const commit = committee.beaconCommits.find((c) => equalBytes(c.node, sender))
      if (commit === undefined) revert('TX_BEACON_PHASE', 'the node did not commit')
      if (committee.beaconReveals.some((r) => equalBytes(r.node, sender))) {
        revert('TX_BEACON_PHASE', 'the node revealed already')
      }
      if (
        method.reveal.length !== 32 ||
        !equalBytes(beaconCommitOf(meta.epoch, round, method.reveal), commit!.commit)
      ) {
        revert('TX_BEACON_MISMATCH', 'the reveal does not hash to the commit')
      }
      const reveals = [...committee.beaconReveals, { node: sender, reveal: method.reveal }]
      state.put('committees', key, { ...committee, beaconReveals: reveals })
      if (reveals.length === committee.beaconCommits.length) {
        await runEpochChange(state, ctx, events)
      }
      return
    }
    case 'BeaconCommitTimeout':
    case 'BeaconRevealTimeout': {
      if (method.epoch !== meta.epoch || method.round !== round) {
        revert('TX_WRONG_EPOCH', `the beacon is at epoch ${meta.epoch} round ${round}`)
      }
      const isCommit = method.type === 'BeaconCommitTimeout'
      if (phase.kind !== (isCommit ? 'commit' : 'reveal'))
        revert('TX_BEACON_PHASE', `the beacon is in its ${phase.kind} phase`)
      const length = Number(
        isCommit ? ctx.params.beaconCommitBlocks : ctx.params.beaconRevealBlocks,
      )
      // The deadline is on chain (a block height), so one member's signal is checkable by all:
      // no quorum of signals is needed, unlike Lightning's wall-clock timeouts.
      if (ctx.height < startHeight + length)
        revert('TX_BEACON_PHASE', `the phase runs until block ${startHeight + length}`)
      if (isCommit) {
        if (committee.beaconCommits.length > 0) {
          state.put('metadata', METADATA_KEY, {
            ...meta,
            beacon: { kind: 'reveal', round, startHeight: ctx.height },
          })
        } else {
          state.put('metadata', METADATA_KEY, {
            ...meta,
            beacon: { kind: 'commit', round: round + 1, startHeight: ctx.height },
          })
        }
        return
      }
      await slashNonRevealers(state, committee, ctx, events)
      if (committee.beaconReveals.length > 0) {
        await runEpochChange(state, ctx, events)
      } else {
        state.put('committees', key, { ...committee, beaconCommits: [], beaconReveals: [] })
        const after = await metadataOf(state)
        state.put('metadata', METADATA_KEY, {
          ...after,
          beacon: { kind: 'commit', round: round + 1, startHeight: ctx.height },
        })
      }
      return
    }
  }
}

async function slashNonRevealers(
  state: BlockState,
  committee: {
    beaconCommits: readonly { node: Uint8Array }[]
    beaconReveals: readonly { node: Uint8Array }[]
  },
  ctx: BlockContext,
  events: ChainEvent[],
): Promise<void> {
  let burned = 0n
  for (const { node: key } of committee.beaconCommits) {
    if (committee.beaconReveals.some((r) => equalBytes(r.node, key))) continue
    const node = await state.get('nodes', key)
    if (node === undefined) continue
    let amount = ctx.params.beaconNonRevealSlash
    if (node.staked < amount) amount = node.staked
    // Excluded from the next committee too: a node that does not reveal sits the epoch out.
    state.put('nodes', key, { ...node, staked: node.staked - amount, participation: 'optedOut' })
    burned += amount
    events.push({ type: 'Slashed', node: key, amount })
  }
  if (burned > 0n) {
    const meta = await metadataOf(state)
    state.put('metadata', METADATA_KEY, { ...meta, supply: meta.supply - burned })
  }
}
