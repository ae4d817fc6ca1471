/**
 * Transactions (issue 15; DESIGN.md "The protocol"): their deterministic DAG-CBOR encoding, the
 * digest everyone signs and executes by, and the two signature schemes.
 *
 *   payload     = { chainId, sender: {account: bytes20} | {node: bytes32}, nonce,
 *                   method: { type: "Transfer", ...fields } }
 *   transaction = { payload, signature }
 *   digest      = BLAKE3-derive-key("fulmen 2026 transaction", encodePayload(payload))
 *
 * An account signs as an Ethereum wallet's `personal_sign` does over the 32 digest bytes
 * (secp256k1, EIP-191, r ‖ s ‖ v with v ∈ {27, 28}), so any wallet can sign; a node signs the
 * digest with its Ed25519 key. Nodes prove possession of their BLS key (min-sig: public keys in
 * G2) when they register, which is what makes aggregating their attestations safe.
 *
 * The decoder is strict and bounded: a size check before anything is parsed, canonical bytes
 * only, no unknown fields, every array and string capped, so hostile bytes cost at most a
 * parse of 128 KiB and can only end in a `TransactionError`. Which sender may send which method
 * is not its business (the executor answers TX_WRONG_SIGNER); only the signature's length,
 * which the sender kind fixes, is.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { CLAIM_LEN } from '../acks/claim.ts'
import { DA_BATCH_SLOTS } from '../acks/da-batch-artifacts.ts'
import { PROOF_BYTES } from '../acks/groth16.ts'
import { proofsFor } from '../acks/proven-claims.ts'
import { deriveKey } from '../b3/hash.ts'
import { equalBytes } from '../core/bytes.ts'
import { FulmenError } from '../core/errors.ts'
import { BEACON_REVEAL_LEN } from './beacon.ts'
import { type CborRecord, encodeAmount, encodeCanonical, RecordReader } from './cbor-shape.ts'
import { StateError } from './errors.ts'
import {
  ACCOUNT_SIGNATURE_LEN,
  ADDRESS_LEN,
  type Address,
  BLS_KEY_LEN,
  BLS_SIGNATURE_LEN,
  type BlsKey,
  CLIENT_KEY_LEN,
  DIGEST_LEN,
  type Digest,
  MEASUREMENT_FIELDS,
  type MeasurementReport,
  type Measurements,
  type Method,
  type MethodType,
  NODE_KEY_LEN,
  NODE_SIGNATURE_LEN,
  type ProtocolParam,
  type Sender,
  type Token,
  type Transaction,
  type TransactionPayload,
} from './model.ts'
import { deriverOf } from './state-hash.ts'

export type TransactionErrorCode = 'TX_MALFORMED' | 'TX_TOO_LARGE' | 'TX_BAD_SIGNATURE'

export class TransactionError extends FulmenError<TransactionErrorCode> {
  override readonly name = 'TransactionError'
}

// --- limits ---------------------------------------------------------------------------------

/** The largest encoded transaction: checked before a byte is parsed. */
export const MAX_TRANSACTION_BYTES = 128 * 1024
/** Caps on every array, so a decoder is never made to build much (the byte cap binds first for
 * most; these keep the shape honest on their own). */
export const MAX_CLAIMS = 4096
export const MAX_REPORTS = 4096
export const MAX_CONTENT_DIGESTS = 4096
export const MAX_NODE_ADDRESSES = 16
export const MAX_NODE_ADDRESS_CHARS = 256

const DIGEST_CONTEXT = 'fulmen 2026 transaction'
/** Derives a BLS secret key's 48 bytes of keygen input from a seed of any length. */
const BLS_SEED_CONTEXT = 'fulmen 2026 bls key seed'
/** Proof-of-possession ciphersuite of draft-irtf-cfrg-bls-signature (min-sig: G1 signatures). */
export const BLS_POP_DST = 'BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_'

const TOKENS: readonly Token[] = ['FLK', 'USDC']

/** Every ProtocolParam, so a decoder can check a name against the union. */
export const PROTOCOL_PARAMS: readonly ProtocolParam[] = [
  'epochTimeMs',
  'committeeSize',
  'minimumNodeStake',
  'maxStakeLockEpochs',
  'unstakeDelayEpochs',
  'maxInflation',
  'nodeShare',
  'protocolShare',
  'serviceBuilderShare',
  'maxBoost',
  'epochsPerYear',
  'beaconCommitBlocks',
  'beaconRevealBlocks',
  'beaconNonRevealSlash',
  'maxMeasurements',
  'maxClaimsPerTransaction',
]

/** Every method type, in the model's order. */
export const METHOD_TYPES: readonly MethodType[] = [
  'Deposit',
  'Transfer',
  'RegisterClientKey',
  'Stake',
  'StakeLock',
  'Unstake',
  'WithdrawUnstaked',
  'OptIn',
  'OptOut',
  'SubmitDeliveryClaims',
  'SubmitReputationMeasurements',
  'ChangeEpoch',
  'BeaconCommit',
  'BeaconReveal',
  'BeaconCommitTimeout',
  'BeaconRevealTimeout',
  'ChangeProtocolParam',
  'UpdateContentRegistry',
]

function malformed(message: string): TransactionError {
  return new TransactionError('TX_MALFORMED', message)
}

/** Proven claims: one proof per batch of DA_BATCH_SLOTS claims, and at least one claim. */
function checkProofCount(claims: number, proofs: number): void {
  if (claims === 0 || proofs !== proofsFor(claims)) {
    throw malformed(
      `${claims} proven claims take ${proofsFor(claims)} proofs of ${DA_BATCH_SLOTS} claims each, got ${proofs}`,
    )
  }
}

// --- encoding -------------------------------------------------------------------------------
// The encoder checks what the decoder checks, so nothing it writes is refused on the way back
// and a caller's mistake surfaces at the caller, not in a receipt.

function bytesOf(value: unknown, length: number, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw malformed(`${what} must be ${length} bytes`)
  }
  return value
}

function uintOf(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw malformed(`${what} must be a non-negative safe integer`)
  }
  return value
}

function amountOf(value: unknown, what: string): Uint8Array {
  try {
    return encodeAmount(value as bigint)
  } catch (e) {
    throw malformed(`${what}: ${(e as Error).message}`)
  }
}

function arrayOf<T>(value: unknown, max: number, what: string): readonly T[] {
  if (!Array.isArray(value) || value.length > max) {
    throw malformed(`${what} must be an array of at most ${max} items`)
  }
  return value as readonly T[]
}

/** A lone surrogate has no UTF-8 form: it would come back as U+FFFD, another string. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function addressStringOf(value: unknown, what: string): string {
  if (
    typeof value !== 'string' ||
    value.length > MAX_NODE_ADDRESS_CHARS ||
    LONE_SURROGATE.test(value)
  ) {
    throw malformed(`${what} must be a well-formed string of at most ${MAX_NODE_ADDRESS_CHARS}`)
  }
  return value
}

function senderToCbor(sender: Sender): CborRecord {
  if (sender?.kind === 'account') {
    return { account: bytesOf(sender.address, ADDRESS_LEN, 'an account sender') }
  }
  if (sender?.kind === 'node') return { node: bytesOf(sender.key, NODE_KEY_LEN, 'a node sender') }
  throw malformed('a sender is an account or a node')
}

function measurementsToCbor(m: Measurements, what: string): CborRecord {
  if (m === null || typeof m !== 'object') throw malformed(`${what} must be an object`)
  const out: Record<string, number> = {}
  for (const field of MEASUREMENT_FIELDS) {
    const v = m[field]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || (field !== 'interactions' && v < 0)) {
      throw malformed(`${what} ${field} must be a safe integer (non-negative but interactions)`)
    }
    out[field] = v
  }
  for (const k of Object.keys(m)) {
    if (!(MEASUREMENT_FIELDS as readonly string[]).includes(k)) {
      throw malformed(`${what} has an unknown field ${JSON.stringify(k)}`)
    }
  }
  return out
}

function methodToCbor(m: Method): CborRecord {
  switch (m?.type) {
    case 'Deposit':
    case 'Transfer':
      if (!TOKENS.includes(m.token)) throw malformed(`${m.type} token must be FLK or USDC`)
      return {
        type: m.type,
        to: bytesOf(m.to, ADDRESS_LEN, `${m.type} to`),
        token: m.token,
        amount: amountOf(m.amount, `${m.type} amount`),
      }
    case 'RegisterClientKey':
      return { type: m.type, clientKey: bytesOf(m.clientKey, CLIENT_KEY_LEN, 'clientKey') }
    case 'Stake': {
      const out: Record<string, unknown> = {
        type: m.type,
        node: bytesOf(m.node, NODE_KEY_LEN, 'Stake node'),
        amount: amountOf(m.amount, 'Stake amount'),
      }
      if (m.bls !== undefined) {
        out.bls = {
          key: bytesOf(m.bls?.key, BLS_KEY_LEN, 'Stake bls key'),
          proofOfPossession: bytesOf(
            m.bls?.proofOfPossession,
            BLS_SIGNATURE_LEN,
            'Stake bls proofOfPossession',
          ),
        }
      }
      if (m.addresses !== undefined) {
        out.addresses = arrayOf<string>(m.addresses, MAX_NODE_ADDRESSES, 'Stake addresses').map(
          (a, i) => addressStringOf(a, `Stake address ${i}`),
        )
      }
      return out
    }
    case 'StakeLock':
      return {
        type: m.type,
        node: bytesOf(m.node, NODE_KEY_LEN, 'StakeLock node'),
        epochs: uintOf(m.epochs, 'StakeLock epochs'),
      }
    case 'Unstake':
      return {
        type: m.type,
        node: bytesOf(m.node, NODE_KEY_LEN, 'Unstake node'),
        amount: amountOf(m.amount, 'Unstake amount'),
      }
    case 'WithdrawUnstaked': {
      const out: Record<string, unknown> = {
        type: m.type,
        node: bytesOf(m.node, NODE_KEY_LEN, 'WithdrawUnstaked node'),
      }
      if (m.to !== undefined) out.to = bytesOf(m.to, ADDRESS_LEN, 'WithdrawUnstaked to')
      return out
    }
    case 'OptIn':
    case 'OptOut':
      return { type: m.type }
    case 'SubmitDeliveryClaims': {
      const out: Record<string, unknown> = {
        type: m.type,
        claims: arrayOf<Uint8Array>(m.claims, MAX_CLAIMS, 'claims').map((c, i) =>
          bytesOf(c, CLAIM_LEN, `claim ${i}`),
        ),
      }
      if (m.proofs !== undefined) {
        out.proofs = arrayOf<Uint8Array>(m.proofs, MAX_CLAIMS, 'proofs').map((p, i) =>
          bytesOf(p, PROOF_BYTES, `proof ${i}`),
        )
        checkProofCount((out.claims as unknown[]).length, (out.proofs as unknown[]).length)
      }
      return out
    }
    case 'SubmitReputationMeasurements':
      return {
        type: m.type,
        reports: arrayOf<MeasurementReport>(m.reports, MAX_REPORTS, 'reports').map((r, i) => ({
          subject: bytesOf(r?.subject, NODE_KEY_LEN, `report ${i} subject`),
          measurements: measurementsToCbor(r?.measurements, `report ${i} measurements`),
        })),
      }
    case 'ChangeEpoch':
      return { type: m.type, epoch: uintOf(m.epoch, 'ChangeEpoch epoch') }
    case 'BeaconCommit':
      return { type: m.type, commit: bytesOf(m.commit, DIGEST_LEN, 'BeaconCommit commit') }
    case 'BeaconReveal':
      return { type: m.type, reveal: bytesOf(m.reveal, BEACON_REVEAL_LEN, 'BeaconReveal reveal') }
    case 'BeaconCommitTimeout':
    case 'BeaconRevealTimeout':
      return {
        type: m.type,
        epoch: uintOf(m.epoch, `${m.type} epoch`),
        round: uintOf(m.round, `${m.type} round`),
      }
    case 'ChangeProtocolParam':
      if (!PROTOCOL_PARAMS.includes(m.param)) {
        throw malformed(`ChangeProtocolParam param ${JSON.stringify(m.param)} is not a parameter`)
      }
      return { type: m.type, param: m.param, value: amountOf(m.value, 'ChangeProtocolParam value') }
    case 'UpdateContentRegistry':
      return {
        type: m.type,
        add: arrayOf<Digest>(m.add, MAX_CONTENT_DIGESTS, 'add').map((d, i) =>
          bytesOf(d, DIGEST_LEN, `add ${i}`),
        ),
        remove: arrayOf<Digest>(m.remove, MAX_CONTENT_DIGESTS, 'remove').map((d, i) =>
          bytesOf(d, DIGEST_LEN, `remove ${i}`),
        ),
      }
    default:
      throw malformed(`unknown method type ${JSON.stringify((m as { type?: unknown })?.type)}`)
  }
}

function payloadToCbor(p: TransactionPayload): CborRecord {
  if (p === null || typeof p !== 'object') throw malformed('a payload must be an object')
  return {
    chainId: uintOf(p.chainId, 'chainId'),
    sender: senderToCbor(p.sender),
    nonce: uintOf(p.nonce, 'nonce'),
    method: methodToCbor(p.method),
  }
}

function signatureLength(sender: Sender): number {
  return sender.kind === 'account' ? ACCOUNT_SIGNATURE_LEN : NODE_SIGNATURE_LEN
}

/** The CBOR encoder hands back a Node Buffer in Node (possibly a view of a shared pool): the
 * same bytes copied into a plain Uint8Array of their own, so callers see one type in Node and in
 * a browser and `.buffer` holds nothing else. */
function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes)
}

/** The payload's canonical bytes: what the digest hashes. Throws TX_MALFORMED on a bad shape. */
export function encodePayload(p: TransactionPayload): Uint8Array {
  return plain(encodeCanonical(payloadToCbor(p)))
}

/** The transaction's canonical bytes, as `POST /chain/tx` takes them and blocks carry them. */
export function encodeTransaction(tx: Transaction): Uint8Array {
  if (tx === null || typeof tx !== 'object') throw malformed('a transaction must be an object')
  const payload = payloadToCbor(tx.payload)
  const signature = bytesOf(tx.signature, signatureLength(tx.payload.sender), 'the signature')
  const bytes = plain(encodeCanonical({ payload, signature }))
  if (bytes.length > MAX_TRANSACTION_BYTES) {
    throw new TransactionError(
      'TX_TOO_LARGE',
      `a transaction is ${bytes.length} bytes, over ${MAX_TRANSACTION_BYTES}`,
    )
  }
  return bytes
}

// --- decoding -------------------------------------------------------------------------------

function isMap(v: unknown): v is CborRecord {
  return (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    Object.getPrototypeOf(v) === Object.prototype
  )
}

function itemBytes(length: number, what: string): (v: unknown, i: number) => Uint8Array {
  return (v, i) => {
    if (!(v instanceof Uint8Array) || v.length !== length) {
      throw malformed(`${what} ${i} is not ${length} bytes`)
    }
    return v
  }
}

function readSender(r: RecordReader): Sender {
  let sender: Sender
  if (r.has('account')) sender = { kind: 'account', address: r.bytes('account', ADDRESS_LEN) }
  else if (r.has('node')) sender = { kind: 'node', key: r.bytes('node', NODE_KEY_LEN) }
  else throw r.fail('is neither an account nor a node')
  r.done()
  return sender
}

function readToken(r: RecordReader): Token {
  const token = r.string('token', 8)
  if (!(TOKENS as readonly string[]).includes(token)) throw r.fail('token is not FLK or USDC')
  return token as Token
}

function readMeasurements(r: RecordReader): Measurements {
  const out: Record<string, number> = {}
  for (const field of MEASUREMENT_FIELDS) {
    if (!r.has(field)) continue
    out[field] = field === 'interactions' ? r.int(field) : r.uint(field)
  }
  r.done()
  return out as Measurements
}

function readReport(v: unknown, i: number): MeasurementReport {
  const what = `a transaction's report ${i}`
  if (!isMap(v)) throw malformed(`${what} is not a map`)
  const r = new RecordReader(v, what, malformed)
  const report: MeasurementReport = {
    subject: r.bytes('subject', NODE_KEY_LEN),
    measurements: readMeasurements(r.record('measurements')),
  }
  r.done()
  return report
}

function readMethod(r: RecordReader): Method {
  const type = r.string('type', 64) as MethodType
  let method: Method
  switch (type) {
    case 'Deposit':
    case 'Transfer':
      method = {
        type,
        to: r.bytes('to', ADDRESS_LEN),
        token: readToken(r),
        amount: r.amount('amount'),
      }
      break
    case 'RegisterClientKey':
      method = { type, clientKey: r.bytes('clientKey', CLIENT_KEY_LEN) }
      break
    case 'Stake': {
      const node = r.bytes('node', NODE_KEY_LEN)
      const amount = r.amount('amount')
      let bls: { key: BlsKey; proofOfPossession: Uint8Array } | undefined
      if (r.has('bls')) {
        const b = r.record('bls')
        bls = {
          key: b.bytes('key', BLS_KEY_LEN),
          proofOfPossession: b.bytes('proofOfPossession', BLS_SIGNATURE_LEN),
        }
        b.done()
      }
      const addresses = r.has('addresses')
        ? r.array('addresses', MAX_NODE_ADDRESSES, (v, i) => {
            if (typeof v !== 'string' || v.length > MAX_NODE_ADDRESS_CHARS) {
              throw malformed(
                `a transaction's Stake address ${i} is not a string of at most ${MAX_NODE_ADDRESS_CHARS}`,
              )
            }
            return v
          })
        : undefined
      method = {
        type,
        node,
        amount,
        ...(bls === undefined ? {} : { bls }),
        ...(addresses === undefined ? {} : { addresses }),
      }
      break
    }
    case 'StakeLock':
      method = { type, node: r.bytes('node', NODE_KEY_LEN), epochs: r.uint('epochs') }
      break
    case 'Unstake':
      method = { type, node: r.bytes('node', NODE_KEY_LEN), amount: r.amount('amount') }
      break
    case 'WithdrawUnstaked': {
      const node = r.bytes('node', NODE_KEY_LEN)
      const to = r.optionalBytes('to', ADDRESS_LEN)
      method = to === undefined ? { type, node } : { type, node, to }
      break
    }
    case 'OptIn':
    case 'OptOut':
      method = { type }
      break
    case 'SubmitDeliveryClaims': {
      const claims = r.array('claims', MAX_CLAIMS, itemBytes(CLAIM_LEN, 'claim'))
      if (!r.has('proofs')) {
        method = { type, claims }
        break
      }
      const proofs = r.array('proofs', MAX_CLAIMS, itemBytes(PROOF_BYTES, 'proof'))
      checkProofCount(claims.length, proofs.length)
      method = { type, claims, proofs }
      break
    }
    case 'SubmitReputationMeasurements':
      method = { type, reports: r.array('reports', MAX_REPORTS, readReport) }
      break
    case 'ChangeEpoch':
      method = { type, epoch: r.uint('epoch') }
      break
    case 'BeaconCommit':
      method = { type, commit: r.bytes('commit', DIGEST_LEN) }
      break
    case 'BeaconReveal':
      method = { type, reveal: r.bytes('reveal', BEACON_REVEAL_LEN) }
      break
    case 'BeaconCommitTimeout':
    case 'BeaconRevealTimeout':
      method = { type, epoch: r.uint('epoch'), round: r.uint('round') }
      break
    case 'ChangeProtocolParam': {
      const param = r.string('param', 64)
      if (!(PROTOCOL_PARAMS as readonly string[]).includes(param)) {
        throw r.fail(`param ${JSON.stringify(param)} is not a protocol parameter`)
      }
      method = { type, param: param as ProtocolParam, value: r.amount('value') }
      break
    }
    case 'UpdateContentRegistry':
      method = {
        type,
        add: r.array('add', MAX_CONTENT_DIGESTS, itemBytes(DIGEST_LEN, 'add')),
        remove: r.array('remove', MAX_CONTENT_DIGESTS, itemBytes(DIGEST_LEN, 'remove')),
      }
      break
    default:
      throw r.fail(`type ${JSON.stringify(type)} is not a method`)
  }
  r.done()
  return method
}

function readPayload(r: RecordReader): TransactionPayload {
  const payload: TransactionPayload = {
    chainId: r.uint('chainId'),
    sender: readSender(r.record('sender')),
    nonce: r.uint('nonce'),
    method: readMethod(r.record('method')),
  }
  r.done()
  return payload
}

/**
 * Decodes a transaction strictly: TX_TOO_LARGE over MAX_TRANSACTION_BYTES (checked first),
 * TX_MALFORMED for anything not exactly what `encodeTransaction` writes. Never throws anything
 * else. The signature is not checked here (see `verifyTransactionSignature`), only its length.
 */
export function decodeTransaction(bytes: Uint8Array): Transaction {
  if (!(bytes instanceof Uint8Array)) throw malformed('a transaction is not bytes')
  if (bytes.length > MAX_TRANSACTION_BYTES) {
    throw new TransactionError(
      'TX_TOO_LARGE',
      `a transaction is ${bytes.length} bytes, over ${MAX_TRANSACTION_BYTES}`,
    )
  }
  try {
    const r = RecordReader.decode(bytes, 'a transaction', malformed)
    const payload = readPayload(r.record('payload'))
    const signature = r.bytes('signature', signatureLength(payload.sender))
    r.done()
    return { payload, signature }
  } catch (e) {
    // RecordReader and the CBOR decoder fail through `malformed`; anything else they throw
    // (a decoder's own TypeError on exotic input) is still malformed input, not a bug to leak.
    if (e instanceof TransactionError) throw e
    throw new TransactionError('TX_MALFORMED', `a transaction does not decode: ${String(e)}`, {
      cause: e,
    })
  }
}

// --- digest and signatures ------------------------------------------------------------------

const payloadDigest = deriverOf(DIGEST_CONTEXT)

/** What is signed and what executed digests, receipts and `GET /chain/tx/<digest>` name. */
export function transactionDigest(p: TransactionPayload): Digest {
  return payloadDigest(encodePayload(p))
}

/** A canonical transaction's first bytes: a map of two, then the text key "payload" (keys sort
 * by length, so it comes before "signature"). */
const PAYLOAD_AT = 2 + 'payload'.length
/** What follows the payload: the text key "signature", then the signature as a byte string. */
function signatureTailLength(signatureLength: number): number {
  const header = signatureLength < 24 ? 1 : signatureLength < 256 ? 2 : 3
  return 1 + 'signature'.length + header + signatureLength
}

/**
 * `decodeTransaction`, and the digest hashed from the payload's own bytes in `bytes`: decoding
 * proved `bytes` canonical, and a canonical map holds each value's canonical encoding as is, so
 * those bytes are `encodePayload(payload)`, and the payload is not encoded again (an encoding
 * cost as much as the digest's hashing and the decoding together). The executor's path.
 */
export function decodeTransactionWithDigest(bytes: Uint8Array): {
  tx: Transaction
  digest: Digest
} {
  const tx = decodeTransaction(bytes)
  const end = bytes.length - signatureTailLength(tx.signature.length)
  return { tx, digest: payloadDigest(bytes.subarray(PAYLOAD_AT, end)) }
}

/** An account's address or a node's key: what nonces and the sender's entry are keyed by. */
export function senderId(sender: Sender): Uint8Array {
  return sender.kind === 'account' ? sender.address : sender.key
}

const utf8 = new TextEncoder()
const PERSONAL_PREFIX = utf8.encode('\x19Ethereum Signed Message:\n')
/** The length every transaction signs ("32": a digest), encoded once. */
const DIGEST_LEN_TEXT = utf8.encode(String(DIGEST_LEN))

/** EIP-191 version 0x45 (`personal_sign`): keccak256("\x19Ethereum Signed Message:\n" ‖ len ‖ m). */
export function personalMessageHash(message: Uint8Array): Uint8Array {
  const len = message.length === DIGEST_LEN ? DIGEST_LEN_TEXT : utf8.encode(String(message.length))
  const data = new Uint8Array(PERSONAL_PREFIX.length + len.length + message.length)
  data.set(PERSONAL_PREFIX, 0)
  data.set(len, PERSONAL_PREFIX.length)
  data.set(message, PERSONAL_PREFIX.length + len.length)
  return keccak_256(data)
}

/**
 * keccak256(x ‖ y)[12..]: the Ethereum address of a secp256k1 public key, given compressed (33
 * bytes), uncompressed (65, 0x04 first) or as the bare x ‖ y (64) some wallets return.
 */
export function accountAddress(secp256k1PublicKey: Uint8Array): Address {
  let uncompressed: Uint8Array
  try {
    let key = secp256k1PublicKey
    if (key instanceof Uint8Array && key.length === 64) key = Uint8Array.of(4, ...key)
    uncompressed = secp256k1.Point.fromBytes(key).toBytes(false)
  } catch (e) {
    throw new StateError('STATE_INVALID_ARGUMENT', 'not a secp256k1 public key', { cause: e })
  }
  return keccak_256(uncompressed.subarray(1)).slice(32 - ADDRESS_LEN)
}

/** The address of a secp256k1 secret key (what `fulmen keys account new` prints). */
export function accountAddressOfSecretKey(secp256k1SecretKey: Uint8Array): Address {
  return accountAddress(secp256k1.getPublicKey(secp256k1SecretKey, false))
}

/** The Ed25519 public key (the node key) of a 32-byte seed. */
export function nodeKeyOfSeed(ed25519Seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(ed25519Seed)
}

/**
 * A wallet's `personal_sign(message)`: secp256k1 over `personalMessageHash(message)`, RFC 6979
 * deterministic k, low s, returned as r ‖ s ‖ v with v = 27 + recovery id.
 */
export function personalSign(message: Uint8Array, secp256k1SecretKey: Uint8Array): Uint8Array {
  // noble's 'recovered' format is recovery ‖ r ‖ s; Ethereum's is r ‖ s ‖ 27 + recovery.
  const rec = secp256k1.sign(personalMessageHash(message), secp256k1SecretKey, {
    prehash: false,
    lowS: true,
    format: 'recovered',
  })
  const signature = new Uint8Array(ACCOUNT_SIGNATURE_LEN)
  signature.set(rec.subarray(1), 0)
  signature[64] = 27 + (rec[0] as number)
  return signature
}

/**
 * Is `key` an Ed25519 public key a node may be registered under: 32 bytes, a canonical encoding
 * of a curve point, not of small order? A small-order key has no secret behind it and a
 * signature under it can verify for many messages, so whoever knows that can sign for the node;
 * the executor checks this when a stake registers a node (a check per signature would cost a
 * point decompression each time).
 */
export function isValidNodeKey(key: Uint8Array): boolean {
  try {
    if (!(key instanceof Uint8Array) || key.length !== NODE_KEY_LEN) return false
    return !ed25519.Point.fromBytes(key, false).isSmallOrder()
  } catch {
    return false
  }
}

/** Signs as a wallet's `personal_sign(digest)` would: r ‖ s ‖ v, low s, v ∈ {27, 28}. */
export function signAccountTransaction(
  p: TransactionPayload,
  secp256k1SecretKey: Uint8Array,
): Transaction {
  const address = accountAddressOfSecretKey(secp256k1SecretKey)
  if (p.sender?.kind !== 'account' || !equalBytes(p.sender.address, address)) {
    throw new StateError('STATE_INVALID_ARGUMENT', "the payload's sender is not this key's account")
  }
  return { payload: p, signature: personalSign(transactionDigest(p), secp256k1SecretKey) }
}

/** Signs the digest with the node's Ed25519 key; the payload's sender must be that key. */
export function signNodeTransaction(p: TransactionPayload, ed25519Seed: Uint8Array): Transaction {
  const key = nodeKeyOfSeed(ed25519Seed)
  if (p.sender?.kind !== 'node' || !equalBytes(p.sender.key, key)) {
    throw new StateError('STATE_INVALID_ARGUMENT', "the payload's sender is not this node key")
  }
  return { payload: p, signature: ed25519.sign(transactionDigest(p), ed25519Seed) }
}

/** 32 big-endian bytes of `n` (< 2^256). */
function bytes32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 31; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn)
  return out
}

/** secp256k1's group order n and ⌊n/2⌋: the bounds of r and of a low s, as bytes, so a check
 * compares bytes instead of parsing two BigInts per signature. */
const ORDER = bytes32(secp256k1.Point.Fn.ORDER)
const HALF_ORDER = bytes32(secp256k1.Point.Fn.ORDER >> 1n)

/** The 32-byte big-endian number at `bytes[at..]` against `bound`: < 0, 0 or > 0. */
function compare32(bytes: Uint8Array, at: number, bound: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = (bytes[at + i] as number) - (bound[i] as number)
    if (d !== 0) return d
  }
  return 0
}

function isZero32(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < 32; i++) if (bytes[at + i] !== 0) return false
  return true
}

/**
 * Public-key recovery, the one costly step of checking an account's signature: from a compact
 * r ‖ s (both in range, s low: the caller checked), a recovery id 0 or 1 and the 32-byte hash,
 * the uncompressed public key (65 bytes), or undefined when there is none. `nobleRecover` runs
 * everywhere; a Node program may inject libsecp256k1's (src/node/chain/native-secp256k1.ts:
 * 23× faster, measured in docs/benchmarks.md "Chain execution"), which gives the same answers.
 */
export type Secp256k1Recover = (
  compact: Uint8Array,
  recovery: number,
  hash: Uint8Array,
) => Uint8Array | undefined

export const nobleRecover: Secp256k1Recover = (compact, recovery, hash) => {
  try {
    return secp256k1.Signature.fromBytes(compact, 'compact')
      .addRecoveryBit(recovery)
      .recoverPublicKey(hash)
      .toBytes(false)
  } catch {
    return undefined
  }
}

/**
 * The address that signed `message` with `personal_sign`, or undefined when the signature is
 * not one: wrong length, v not 27 or 28, r or s out of range, high s (the same (r, n − s) also
 * verifies; only low s is accepted, so a transaction has one form), no point to recover.
 */
export function recoverPersonalSigner(
  message: Uint8Array,
  signature: Uint8Array,
  recover: Secp256k1Recover = nobleRecover,
): Address | undefined {
  try {
    if (!(signature instanceof Uint8Array) || signature.length !== ACCOUNT_SIGNATURE_LEN) {
      return undefined
    }
    const v = signature[64] as number
    if (v !== 27 && v !== 28) return undefined
    // Range checks (1 ≤ r < n, 1 ≤ s ≤ ⌊n/2⌋: low s) here, whichever recovery runs after.
    if (isZero32(signature, 0) || compare32(signature, 0, ORDER) >= 0) return undefined
    if (isZero32(signature, 32) || compare32(signature, 32, HALF_ORDER) > 0) return undefined
    const compact = signature.subarray(0, 64)
    const key = recover(compact, v - 27, personalMessageHash(message))
    if (key === undefined || key.length !== 65) return undefined
    return keccak_256(key.subarray(1)).slice(32 - ADDRESS_LEN)
  } catch {
    return undefined
  }
}

/**
 * Does the signature verify for the sender? Account: the address recovered from an EIP-191
 * signature over the digest; node: Ed25519 (RFC 8032 strict, not ZIP-215) over the digest.
 * Never throws: anything wrong is `false`.
 */
export function verifyTransactionSignature(
  tx: Transaction,
  recover: Secp256k1Recover = nobleRecover,
): boolean {
  try {
    return verifyDigestSignature(tx, transactionDigest(tx.payload), recover)
  } catch {
    return false
  }
}

/**
 * `verifyTransactionSignature` for a caller that has the transaction's digest already
 * (`decodeTransactionWithDigest`'s, from the same bytes): the executor and the mempool, which
 * would otherwise encode and hash the payload a second time. Never throws.
 */
export function verifyDigestSignature(
  tx: Transaction,
  digest: Digest,
  recover: Secp256k1Recover = nobleRecover,
): boolean {
  try {
    const sender = tx.payload.sender
    if (!(tx.signature instanceof Uint8Array)) return false
    if (sender.kind === 'account') {
      const signer = recoverPersonalSigner(digest, tx.signature, recover)
      return signer !== undefined && equalBytes(signer, sender.address)
    }
    if (sender.kind === 'node') {
      if (tx.signature.length !== NODE_SIGNATURE_LEN) return false
      return ed25519.verify(tx.signature, digest, sender.key, { zip215: false })
    }
    return false
  } catch {
    return false
  }
}

// --- BLS ------------------------------------------------------------------------------------

const bls = bls12_381.shortSignatures

/**
 * A BLS12-381 min-sig key pair (public key in G2, 96 bytes compressed). A seed of any length
 * (≥ 32 bytes) gives the same key every time; without one the key is random.
 */
export function makeBlsKey(seed?: Uint8Array): { secretKey: Uint8Array; publicKey: BlsKey } {
  if (seed !== undefined && (!(seed instanceof Uint8Array) || seed.length < 32)) {
    throw new StateError('STATE_INVALID_ARGUMENT', 'a BLS key seed is at least 32 bytes')
  }
  const { secretKey, publicKey } = bls.keygen(
    seed === undefined ? undefined : deriveKey(BLS_SEED_CONTEXT, seed, 48),
  )
  return { secretKey, publicKey: publicKey.toBytes() }
}

/** The 48-byte proof that the holder of `secretKey` holds it: a signature over its public key
 * under the proof-of-possession DST, which no ordinary signature can be mistaken for. */
export function proveBlsPossession(secretKey: Uint8Array): Uint8Array {
  const publicKey = bls.getPublicKey(secretKey).toBytes()
  return bls.Signature.toBytes(bls.sign(bls.hash(publicKey, BLS_POP_DST), secretKey))
}

/** Checks a proof of possession; false for anything wrong (lengths, points, the pairing). */
export function verifyBlsPossession(publicKey: BlsKey, proof: Uint8Array): boolean {
  try {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== BLS_KEY_LEN) return false
    if (!(proof instanceof Uint8Array) || proof.length !== BLS_SIGNATURE_LEN) return false
    return bls.verify(proof, bls.hash(publicKey, BLS_POP_DST), publicKey)
  } catch {
    return false
  }
}
