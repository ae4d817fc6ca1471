/**
 * Test support for transactions: fast-check arbitraries of every method and of payloads from
 * either kind of sender, and fixed keys with helpers that sign account and node transactions,
 * for the codec's tests and for the executor's, the orderer's and the routes' tests.
 */
import { hexToBytes } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { CLAIM_LEN } from '../../acks/claim.ts'
import { DA_BATCH_SLOTS } from '../../acks/da-batch-artifacts.ts'
import { PROOF_BYTES } from '../../acks/groth16.ts'
import { proofsFor } from '../../acks/proven-claims.ts'
import { BEACON_REVEAL_LEN } from '../beacon.ts'
import { MAX_AMOUNT } from '../cbor-shape.ts'
import {
  ADDRESS_LEN,
  type Address,
  BLS_KEY_LEN,
  BLS_SIGNATURE_LEN,
  CLIENT_KEY_LEN,
  DIGEST_LEN,
  type MeasurementReport,
  type Measurements,
  type Method,
  type MethodType,
  NODE_KEY_LEN,
  type NodeKey,
  type Sender,
  type Transaction,
  type TransactionPayload,
} from '../model.ts'
import {
  accountAddressOfSecretKey,
  METHOD_TYPES,
  nodeKeyOfSeed,
  PROTOCOL_PARAMS,
  signAccountTransaction,
  signNodeTransaction,
} from '../transaction.ts'

// --- fixed keys -----------------------------------------------------------------------------

/** secp256k1 secret keys of test accounts: 0x…01, 0x…02, 0x…03 (addresses known everywhere:
 * 0x…01 is 0x7e5f4552091a69125d5dfcb7b8c2659029395bdf). */
export const TEST_ACCOUNT_KEYS: readonly Uint8Array[] = [1, 2, 3].map((n) => {
  const key = new Uint8Array(32)
  key[31] = n
  return key
})
export const TEST_ACCOUNTS: readonly Address[] = TEST_ACCOUNT_KEYS.map(accountAddressOfSecretKey)

/** Ed25519 seeds of test nodes (32 × 0x11, 32 × 0x22, 32 × 0x33) and their node keys. */
export const TEST_NODE_SEEDS: readonly Uint8Array[] = [0x11, 0x22, 0x33].map((b) =>
  new Uint8Array(32).fill(b),
)
export const TEST_NODE_KEYS: readonly NodeKey[] = TEST_NODE_SEEDS.map(nodeKeyOfSeed)

/** Anvil's / Hardhat's first account, as Ethereum tooling's test vectors use it. */
export const ANVIL_ACCOUNT_KEY = hexToBytes(
  'ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
)

export interface SignOptions {
  readonly chainId?: number
  readonly nonce?: number
}

/** A transaction from test account `index` (0–2), signed. */
export function accountTransaction(
  method: Method,
  options: SignOptions & { readonly account?: number } = {},
): Transaction {
  const index = options.account ?? 0
  return signAccountTransaction(
    {
      chainId: options.chainId ?? 1,
      sender: { kind: 'account', address: TEST_ACCOUNTS[index]! },
      nonce: options.nonce ?? 1,
      method,
    },
    TEST_ACCOUNT_KEYS[index]!,
  )
}

/** A transaction from test node `index` (0–2), signed. */
export function nodeTransaction(
  method: Method,
  options: SignOptions & { readonly node?: number } = {},
): Transaction {
  const index = options.node ?? 0
  return signNodeTransaction(
    {
      chainId: options.chainId ?? 1,
      sender: { kind: 'node', key: TEST_NODE_KEYS[index]! },
      nonce: options.nonce ?? 1,
      method,
    },
    TEST_NODE_SEEDS[index]!,
  )
}

/** Signs a payload with the test key of its sender (which must be a test account or node). */
export function signWithTestKey(payload: TransactionPayload): Transaction {
  const s = payload.sender
  const keys: readonly Uint8Array[] = s.kind === 'account' ? TEST_ACCOUNTS : TEST_NODE_KEYS
  const id = s.kind === 'account' ? s.address : s.key
  const index = keys.findIndex((k) => k.length === id.length && k.every((b, i) => b === id[i]))
  if (index < 0) throw new Error('the sender is not a test key')
  return s.kind === 'account'
    ? signAccountTransaction(payload, TEST_ACCOUNT_KEYS[index]!)
    : signNodeTransaction(payload, TEST_NODE_SEEDS[index]!)
}

// --- arbitraries ----------------------------------------------------------------------------

const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length })
export const addressArb = bytes(ADDRESS_LEN)
export const nodeKeyArb = bytes(NODE_KEY_LEN)
export const digestArb = bytes(DIGEST_LEN)
/** Amounts over the whole range, small ones (and zero) often. */
export const amountArb: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: 0n, max: 1000n }),
  fc.bigInt({ min: 0n, max: 10n ** 30n }),
  fc.bigInt({ min: 0n, max: MAX_AMOUNT }),
)
const uintArb = fc.oneof(fc.nat(1000), fc.nat({ max: Number.MAX_SAFE_INTEGER }))
const tokenArb = fc.constantFrom('FLK' as const, 'USDC' as const)
/** Strings of every kind (unicode, astral planes), none with a lone surrogate. */
const addressStringArb = fc
  .string({ unit: 'grapheme', maxLength: 60 })
  .filter((s) => s.length <= 256)

const measurementsArb: fc.Arbitrary<Measurements> = fc.record(
  {
    latencyUs: uintArb,
    interactions: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    inboundBandwidth: uintArb,
    outboundBandwidth: uintArb,
    bytesReceived: uintArb,
    bytesSent: uintArb,
    uptime: uintArb,
    hops: uintArb,
  },
  { requiredKeys: [] },
)
const reportArb: fc.Arbitrary<MeasurementReport> = fc.record({
  subject: nodeKeyArb,
  measurements: measurementsArb,
})

/** One arbitrary per method type: every method is generated with every field's range. */
export const methodArbs: {
  readonly [T in MethodType]: fc.Arbitrary<Extract<Method, { type: T }>>
} = {
  Deposit: fc.record({
    type: fc.constant('Deposit' as const),
    to: addressArb,
    token: tokenArb,
    amount: amountArb,
  }),
  Transfer: fc.record({
    type: fc.constant('Transfer' as const),
    to: addressArb,
    token: tokenArb,
    amount: amountArb,
  }),
  RegisterClientKey: fc.record({
    type: fc.constant('RegisterClientKey' as const),
    clientKey: bytes(CLIENT_KEY_LEN),
  }),
  Stake: fc.record(
    {
      type: fc.constant('Stake' as const),
      node: nodeKeyArb,
      amount: amountArb,
      bls: fc.record({ key: bytes(BLS_KEY_LEN), proofOfPossession: bytes(BLS_SIGNATURE_LEN) }),
      addresses: fc.array(addressStringArb, { maxLength: 16 }),
    },
    { requiredKeys: ['type', 'node', 'amount'] },
  ),
  StakeLock: fc.record({
    type: fc.constant('StakeLock' as const),
    node: nodeKeyArb,
    epochs: uintArb,
  }),
  Unstake: fc.record({
    type: fc.constant('Unstake' as const),
    node: nodeKeyArb,
    amount: amountArb,
  }),
  WithdrawUnstaked: fc.record(
    { type: fc.constant('WithdrawUnstaked' as const), node: nodeKeyArb, to: addressArb },
    { requiredKeys: ['type', 'node'] },
  ),
  OptIn: fc.constant({ type: 'OptIn' as const }),
  OptOut: fc.constant({ type: 'OptOut' as const }),
  SubmitDeliveryClaims: fc.oneof(
    fc.record({
      type: fc.constant('SubmitDeliveryClaims' as const),
      claims: fc.array(bytes(CLAIM_LEN), { maxLength: 4 }),
    }),
    // Proven: one proof per batch of DA_BATCH_SLOTS claims.
    fc.array(bytes(CLAIM_LEN), { minLength: 1, maxLength: DA_BATCH_SLOTS + 2 }).chain((claims) =>
      fc.record({
        type: fc.constant('SubmitDeliveryClaims' as const),
        claims: fc.constant(claims),
        proofs: fc.array(bytes(PROOF_BYTES), {
          minLength: proofsFor(claims.length),
          maxLength: proofsFor(claims.length),
        }),
      }),
    ),
  ),
  SubmitReputationMeasurements: fc.record({
    type: fc.constant('SubmitReputationMeasurements' as const),
    reports: fc.array(reportArb, { maxLength: 4 }),
  }),
  ChangeEpoch: fc.record({ type: fc.constant('ChangeEpoch' as const), epoch: uintArb }),
  BeaconCommit: fc.record({ type: fc.constant('BeaconCommit' as const), commit: digestArb }),
  BeaconReveal: fc.record({
    type: fc.constant('BeaconReveal' as const),
    reveal: bytes(BEACON_REVEAL_LEN),
  }),
  BeaconCommitTimeout: fc.record({
    type: fc.constant('BeaconCommitTimeout' as const),
    epoch: uintArb,
    round: uintArb,
  }),
  BeaconRevealTimeout: fc.record({
    type: fc.constant('BeaconRevealTimeout' as const),
    epoch: uintArb,
    round: uintArb,
  }),
  ChangeProtocolParam: fc.record({
    type: fc.constant('ChangeProtocolParam' as const),
    param: fc.constantFrom(...PROTOCOL_PARAMS),
    value: amountArb,
  }),
  UpdateContentRegistry: fc.record({
    type: fc.constant('UpdateContentRegistry' as const),
    add: fc.array(digestArb, { maxLength: 4 }),
    remove: fc.array(digestArb, { maxLength: 4 }),
  }),
}

/** Any method. */
export const methodArb: fc.Arbitrary<Method> = fc.oneof(
  ...METHOD_TYPES.map((t) => methodArbs[t] as fc.Arbitrary<Method>),
)

export const senderArb: fc.Arbitrary<Sender> = fc.oneof(
  addressArb.map((address): Sender => ({ kind: 'account', address })),
  nodeKeyArb.map((key): Sender => ({ kind: 'node', key })),
)

/** Payloads with `method` (default: any) from a random sender (not a test key: unsigned). */
export function payloadArb(
  method: fc.Arbitrary<Method> = methodArb,
): fc.Arbitrary<TransactionPayload> {
  return fc.record({ chainId: uintArb, sender: senderArb, nonce: uintArb, method })
}

/** Payloads from the test keys, ready for `signWithTestKey`. */
export function testKeyPayloadArb(
  method: fc.Arbitrary<Method> = methodArb,
): fc.Arbitrary<TransactionPayload> {
  const sender = fc.oneof(
    fc.constantFrom(...TEST_ACCOUNTS).map((address): Sender => ({ kind: 'account', address })),
    fc.constantFrom(...TEST_NODE_KEYS).map((key): Sender => ({ kind: 'node', key })),
  )
  return fc.record({ chainId: uintArb, sender, nonce: uintArb, method })
}

/** Transactions with signatures of the right length but random bytes (for codec tests). */
export const unsignedTransactionArb: fc.Arbitrary<Transaction> = payloadArb().chain((payload) =>
  bytes(payload.sender.kind === 'account' ? 65 : 64).map((signature) => ({ payload, signature })),
)
