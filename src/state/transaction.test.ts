/**
 * Transactions, in Node and Chromium: the codec round-trips every method and refuses every
 * other byte string with a TransactionError (non-canonical forms, unknown fields, wrong lengths,
 * random bytes and mutations of valid encodings); the digest is BLAKE3 derive-key over the
 * payload; account signatures are Ethereum's personal_sign (checked against viem's vectors) and
 * bind digest, sender and chain; node signatures are Ed25519; BLS proofs of possession verify
 * only for their own key.
 */

import * as dagCbor from '@ipld/dag-cbor'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { blake3 } from '@noble/hashes/blake3.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { CLAIM_LEN } from '../acks/claim.ts'
import { DA_BATCH_SLOTS } from '../acks/da-batch-artifacts.ts'
import { PROOF_BYTES } from '../acks/groth16.ts'
import { StateError } from './errors.ts'
import type { Method, MethodType, Transaction, TransactionPayload } from './model.ts'
import {
  ANVIL_ACCOUNT_KEY,
  accountTransaction,
  methodArbs,
  nodeTransaction,
  payloadArb,
  signWithTestKey,
  TEST_ACCOUNT_KEYS,
  TEST_ACCOUNTS,
  TEST_NODE_KEYS,
  TEST_NODE_SEEDS,
  testKeyPayloadArb,
  unsignedTransactionArb,
} from './testing/transaction-arbitraries.ts'
import {
  accountAddress,
  accountAddressOfSecretKey,
  BLS_POP_DST,
  decodeTransaction,
  decodeTransactionWithDigest,
  encodePayload,
  encodeTransaction,
  isValidNodeKey,
  MAX_CLAIMS,
  MAX_CONTENT_DIGESTS,
  MAX_NODE_ADDRESSES,
  MAX_REPORTS,
  MAX_TRANSACTION_BYTES,
  METHOD_TYPES,
  makeBlsKey,
  nodeKeyOfSeed,
  personalMessageHash,
  personalSign,
  proveBlsPossession,
  recoverPersonalSigner,
  senderId,
  signAccountTransaction,
  signNodeTransaction,
  TransactionError,
  transactionDigest,
  verifyBlsPossession,
  verifyDigestSignature,
  verifyTransactionSignature,
} from './transaction.ts'

const utf8 = new TextEncoder()
/** A decoded CBOR value the tests reach into and edit freely. */
// biome-ignore lint/suspicious/noExplicitAny: tests edit decoded CBOR at any depth
type Cbor = Record<string, any>

function codeOf(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    if (e instanceof TransactionError || e instanceof StateError) return e.code
    throw e
  }
  return 'no error'
}

/** Re-encodes a transaction's CBOR value after `edit` changed it (canonically, so only the edit
 * is wrong). */
function edited(tx: Transaction, edit: (value: Cbor) => void): Uint8Array {
  const value = dagCbor.decode(encodeTransaction(tx)) as Cbor
  edit(value)
  return dagCbor.encode(value)
}

const transfer: Method = { type: 'Transfer', to: TEST_ACCOUNTS[1]!, token: 'FLK', amount: 5n }
const accountTx = accountTransaction(transfer, { chainId: 7, nonce: 3 })
const nodeTx = nodeTransaction({ type: 'ChangeEpoch', epoch: 9 }, { chainId: 7, nonce: 4 })

describe('the codec', () => {
  test.each(METHOD_TYPES)('round-trips %s', (type: MethodType) => {
    fc.assert(
      fc.property(
        payloadArb(methodArbs[type] as fc.Arbitrary<Method>),
        fc.boolean(),
        (payload, _) => {
          const signature = new Uint8Array(payload.sender.kind === 'account' ? 65 : 64).fill(9)
          const bytes = encodeTransaction({ payload, signature })
          const back = decodeTransaction(bytes)
          expect(back).toEqual({ payload, signature })
          // One value, one encoding: the decoded value encodes to the same bytes.
          expect(encodeTransaction(back)).toEqual(bytes)
          expect(encodePayload(back.payload)).toEqual(encodePayload(payload))
          // The digest hashed from the payload's bytes inside the transaction is the same.
          expect(decodeTransactionWithDigest(bytes).digest).toEqual(transactionDigest(payload))
        },
      ),
      { numRuns: 60 },
    )
  })

  test('writes the documented shape: sender as {account}/{node}, method as {type, …}, amounts as minimal bytes', () => {
    const value = dagCbor.decode(encodeTransaction(accountTx)) as Cbor
    expect(Object.keys(value)).toEqual(['payload', 'signature'])
    expect(value.payload).toEqual({
      chainId: 7,
      sender: { account: TEST_ACCOUNTS[0] },
      nonce: 3,
      method: { type: 'Transfer', to: TEST_ACCOUNTS[1], token: 'FLK', amount: Uint8Array.of(5) },
    })
    const node = dagCbor.decode(encodeTransaction(nodeTx)) as Cbor
    expect(node.payload.sender).toEqual({ node: TEST_NODE_KEYS[0] })
    // Absent optional fields are absent, not null.
    const stake = dagCbor.decode(
      encodePayload({
        ...accountTx.payload,
        method: { type: 'Stake', node: TEST_NODE_KEYS[0]!, amount: 0n },
      }),
    ) as Cbor
    expect(stake.method).toEqual({
      type: 'Stake',
      node: TEST_NODE_KEYS[0],
      amount: new Uint8Array(0),
    })
  })

  test('refuses non-canonical encodings of a valid transaction', () => {
    const bytes = encodeTransaction(accountTx)
    const value = dagCbor.decode(bytes) as Cbor
    const enc = (v: unknown) => dagCbor.encode(v)
    const cat = (...parts: Uint8Array[]) => {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
      let at = 0
      for (const p of parts) {
        out.set(p, at)
        at += p.length
      }
      return out
    }
    const payload = enc(value.payload)
    const signature = enc(value.signature)
    // The canonical form, rebuilt by hand, is accepted (so the variants fail for their change).
    expect(
      decodeTransaction(
        cat(Uint8Array.of(0xa2), enc('payload'), payload, enc('signature'), signature),
      ),
    ).toEqual(accountTx)
    const variants: Uint8Array[] = [
      // keys out of order
      cat(Uint8Array.of(0xa2), enc('signature'), signature, enc('payload'), payload),
      // an indefinite-length map
      cat(
        Uint8Array.of(0xbf),
        enc('payload'),
        payload,
        enc('signature'),
        signature,
        Uint8Array.of(0xff),
      ),
      // a map length in a longer form than needed
      cat(Uint8Array.of(0xb8, 2), enc('payload'), payload, enc('signature'), signature),
      // a duplicate key
      cat(
        Uint8Array.of(0xa3),
        enc('payload'),
        payload,
        enc('signature'),
        signature,
        enc('signature'),
        signature,
      ),
      // the signature's length in a longer form (0x59: two length bytes)
      cat(
        Uint8Array.of(0xa2),
        enc('payload'),
        payload,
        enc('signature'),
        Uint8Array.of(0x59, 0, 65),
        accountTx.signature,
      ),
      // trailing bytes
      cat(bytes, Uint8Array.of(0)),
    ]
    // chainId 7 written as a one-byte-argument integer (0x18 0x07) instead of 0x07
    const chainIdAt = bytes.indexOf(
      0x07,
      bytes.findIndex(
        (_, i) => bytesToHex(bytes.subarray(i, i + 8)) === bytesToHex(enc('chainId')),
      ) + 8,
    )
    variants.push(
      cat(bytes.subarray(0, chainIdAt), Uint8Array.of(0x18, 0x07), bytes.subarray(chainIdAt + 1)),
    )
    // chainId as a float
    variants.push(
      cat(
        bytes.subarray(0, chainIdAt),
        Uint8Array.of(0xf9, 0x47, 0x00),
        bytes.subarray(chainIdAt + 1),
      ),
    )
    for (const v of variants) expect(codeOf(() => decodeTransaction(v))).toBe('TX_MALFORMED')
  })

  test('refuses unknown fields at every level', () => {
    const stake = accountTransaction({
      type: 'Stake',
      node: TEST_NODE_KEYS[0]!,
      amount: 1n,
      bls: { key: new Uint8Array(96), proofOfPossession: new Uint8Array(48) },
    })
    const reports = nodeTransaction({
      type: 'SubmitReputationMeasurements',
      reports: [{ subject: TEST_NODE_KEYS[1]!, measurements: { hops: 2 } }],
    })
    const edits: [Transaction, (v: Cbor) => void][] = [
      [accountTx, (v) => (v.memo = 'x')],
      [accountTx, (v) => (v.payload.memo = 'x')],
      [accountTx, (v) => (v.payload.method.memo = 'x')],
      [accountTx, (v) => (v.payload.sender.node = TEST_NODE_KEYS[0])],
      [accountTx, (v) => (v.payload.sender.extra = 1)],
      [stake, (v) => (v.payload.method.bls.extra = 1)],
      [reports, (v) => (v.payload.method.reports[0].extra = 1)],
      [reports, (v) => (v.payload.method.reports[0].measurements.latencyMs = 1)],
      [nodeTx, (v) => (v.payload.method.round = 1)],
    ]
    for (const [tx, edit] of edits) {
      expect(decodeTransaction(encodeTransaction(tx))).toEqual(tx)
      expect(codeOf(() => decodeTransaction(edited(tx, edit)))).toBe('TX_MALFORMED')
    }
  })

  test('refuses wrong lengths, types and values of fields', () => {
    const claims = nodeTransaction({
      type: 'SubmitDeliveryClaims',
      claims: [new Uint8Array(CLAIM_LEN)],
    })
    const stake = accountTransaction({
      type: 'Stake',
      node: TEST_NODE_KEYS[0]!,
      amount: 1n,
      bls: { key: new Uint8Array(96), proofOfPossession: new Uint8Array(48) },
      addresses: ['/ip4/127.0.0.1/tcp/4001'],
    })
    const param = accountTransaction({
      type: 'ChangeProtocolParam',
      param: 'committeeSize',
      value: 4n,
    })
    const edits: [Transaction, (v: Cbor) => void][] = [
      [accountTx, (v) => (v.signature = v.signature.subarray(0, 64))], // an account signs 65 bytes
      [nodeTx, (v) => (v.signature = new Uint8Array(65))], // a node signs 64 bytes
      [accountTx, (v) => (v.payload.sender.account = new Uint8Array(19))],
      [nodeTx, (v) => (v.payload.sender.node = new Uint8Array(33))],
      [accountTx, (v) => (v.payload.sender = {})],
      [accountTx, (v) => (v.payload.method.to = new Uint8Array(21))],
      [accountTx, (v) => (v.payload.method.amount = new Uint8Array(33).fill(1))],
      [accountTx, (v) => (v.payload.method.amount = Uint8Array.of(0, 5))], // leading zero
      [accountTx, (v) => (v.payload.method.amount = 5)], // an integer, not bytes
      [accountTx, (v) => (v.payload.method.token = 'ETH')],
      [accountTx, (v) => (v.payload.method.type = 'Mint')],
      [accountTx, (v) => delete v.payload.method.type],
      [accountTx, (v) => delete v.payload.method.to],
      [accountTx, (v) => (v.payload.nonce = -1)],
      [accountTx, (v) => (v.payload.chainId = 2 ** 53)], // over the safe integers
      [accountTx, (v) => (v.payload.method = null)],
      [claims, (v) => (v.payload.method.claims = [new Uint8Array(CLAIM_LEN - 1)])],
      [claims, (v) => (v.payload.method.claims = new Uint8Array(CLAIM_LEN))],
      // Proven claims: a proof is 256 bytes, one per batch of DA_BATCH_SLOTS claims.
      [claims, (v) => (v.payload.method.proofs = [new Uint8Array(PROOF_BYTES - 1)])],
      [claims, (v) => (v.payload.method.proofs = [])],
      [
        claims,
        (v) =>
          (v.payload.method.proofs = [new Uint8Array(PROOF_BYTES), new Uint8Array(PROOF_BYTES)]),
      ],
      [
        claims,
        (v) => {
          v.payload.method.claims = Array(DA_BATCH_SLOTS + 1).fill(new Uint8Array(CLAIM_LEN))
          v.payload.method.proofs = [new Uint8Array(PROOF_BYTES)]
        },
      ],
      [
        claims,
        (v) => {
          v.payload.method.claims = []
          v.payload.method.proofs = []
        },
      ],
      [stake, (v) => (v.payload.method.bls.key = new Uint8Array(95))],
      [stake, (v) => (v.payload.method.bls.proofOfPossession = new Uint8Array(47))],
      [stake, (v) => (v.payload.method.addresses = Array(MAX_NODE_ADDRESSES + 1).fill('a'))],
      [stake, (v) => (v.payload.method.addresses = ['a'.repeat(257)])],
      [stake, (v) => (v.payload.method.addresses = [7])],
      [stake, (v) => (v.payload.method.bls = null)],
      [param, (v) => (v.payload.method.param = 'toString')],
      [nodeTx, (v) => (v.payload.method.epoch = 1.5)],
      [nodeTx, (v) => (v.payload.method = { type: 'BeaconCommit', commit: new Uint8Array(31) })],
      [nodeTx, (v) => (v.payload.method = { type: 'BeaconReveal', reveal: new Uint8Array(33) })],
      [
        nodeTx,
        (v) =>
          (v.payload.method = {
            type: 'UpdateContentRegistry',
            add: [new Uint8Array(31)],
            remove: [],
          }),
      ],
      [nodeTx, (v) => (v.payload.method = { type: 'UpdateContentRegistry', add: [] })],
      [
        nodeTx,
        (v) =>
          (v.payload.method = {
            type: 'SubmitReputationMeasurements',
            reports: [{ subject: TEST_NODE_KEYS[0], measurements: { hops: -1 } }],
          }),
      ],
      [
        nodeTx,
        (v) =>
          (v.payload.method = {
            type: 'SubmitReputationMeasurements',
            reports: [{ subject: TEST_NODE_KEYS[0] }],
          }),
      ],
      [nodeTx, (v) => (v.payload.method = { type: 'SubmitReputationMeasurements', reports: [7] })],
      [nodeTx, (v) => (v.payload.method = { type: 'OptIn', epoch: 1 })],
    ]
    for (const [tx, edit] of edits) {
      expect(decodeTransaction(encodeTransaction(tx))).toEqual(tx)
      expect(codeOf(() => decodeTransaction(edited(tx, edit)))).toBe('TX_MALFORMED')
    }
    // Negative interactions are a count of failures over successes: allowed.
    const negative = nodeTransaction({
      type: 'SubmitReputationMeasurements',
      reports: [{ subject: TEST_NODE_KEYS[1]!, measurements: { interactions: -3 } }],
    })
    expect(decodeTransaction(encodeTransaction(negative))).toEqual(negative)
  })

  test('refuses bytes over MAX_TRANSACTION_BYTES before parsing them, and so does the encoder', () => {
    expect(codeOf(() => decodeTransaction(new Uint8Array(MAX_TRANSACTION_BYTES + 1)))).toBe(
      'TX_TOO_LARGE',
    )
    expect(codeOf(() => decodeTransaction(new Uint8Array(MAX_TRANSACTION_BYTES)))).toBe(
      'TX_MALFORMED',
    )
    const claims = Array.from({ length: 600 }, () => new Uint8Array(CLAIM_LEN))
    const big = nodeTransaction({ type: 'SubmitDeliveryClaims', claims })
    expect(codeOf(() => encodeTransaction(big))).toBe('TX_TOO_LARGE')
    const bytes = dagCbor.encode({
      payload: dagCbor.decode(encodePayload(big.payload)),
      signature: big.signature,
    })
    expect(bytes.length).toBeGreaterThan(MAX_TRANSACTION_BYTES)
    expect(codeOf(() => decodeTransaction(bytes))).toBe('TX_TOO_LARGE')
    // Just under the limit decodes.
    const fits = Math.floor((MAX_TRANSACTION_BYTES - 300) / (CLAIM_LEN + 3))
    const ok = nodeTransaction({ type: 'SubmitDeliveryClaims', claims: claims.slice(0, fits) })
    expect(decodeTransaction(encodeTransaction(ok)).payload.method).toEqual(ok.payload.method)
  })

  test('the encoder refuses what the decoder would, naming the caller as the one at fault', () => {
    const p = accountTx.payload
    const bad: unknown[] = [
      { ...p, chainId: -1 },
      { ...p, nonce: 1.5 },
      { ...p, sender: { kind: 'account', address: new Uint8Array(32) } },
      { ...p, sender: { kind: 'wallet' } },
      { ...p, method: { ...transfer, amount: -1n } },
      { ...p, method: { ...transfer, amount: 1n << 256n } },
      { ...p, method: { ...transfer, token: 'DAI' } },
      { ...p, method: { type: 'Nope' } },
      {
        ...p,
        method: { type: 'Stake', node: TEST_NODE_KEYS[0], amount: 1n, addresses: ['\uD800'] },
      },
      {
        ...p,
        method: {
          type: 'Stake',
          node: TEST_NODE_KEYS[0],
          amount: 1n,
          addresses: Array(17).fill(''),
        },
      },
      { ...p, method: { type: 'ChangeProtocolParam', param: 'gasPrice', value: 1n } },
      {
        ...p,
        method: {
          type: 'SubmitDeliveryClaims',
          claims: Array(MAX_CLAIMS + 1).fill(new Uint8Array(CLAIM_LEN)),
        },
      },
      {
        ...p,
        method: {
          type: 'UpdateContentRegistry',
          add: Array(MAX_CONTENT_DIGESTS + 1).fill(new Uint8Array(32)),
          remove: [],
        },
      },
      {
        ...p,
        method: {
          type: 'SubmitReputationMeasurements',
          reports: Array(MAX_REPORTS + 1).fill({ subject: new Uint8Array(32), measurements: {} }),
        },
      },
      {
        ...p,
        method: {
          type: 'SubmitReputationMeasurements',
          reports: [{ subject: new Uint8Array(32), measurements: { hops: 1.5 } }],
        },
      },
      {
        ...p,
        method: {
          type: 'SubmitReputationMeasurements',
          reports: [{ subject: new Uint8Array(32), measurements: { rtt: 1 } }],
        },
      },
      null,
    ]
    for (const payload of bad) {
      expect(codeOf(() => encodePayload(payload as TransactionPayload))).toBe('TX_MALFORMED')
    }
    expect(codeOf(() => encodeTransaction({ payload: p, signature: new Uint8Array(64) }))).toBe(
      'TX_MALFORMED',
    )
  })

  test('random bytes and mutations of valid encodings end in a TransactionError or decode to the same bytes', () => {
    const check = (bytes: Uint8Array) => {
      let tx: Transaction
      try {
        tx = decodeTransaction(bytes)
      } catch (e) {
        expect(e).toBeInstanceOf(TransactionError)
        expect(['TX_MALFORMED', 'TX_TOO_LARGE']).toContain((e as TransactionError).code)
        return
      }
      expect(encodeTransaction(tx)).toEqual(bytes)
      expect(typeof verifyTransactionSignature(tx)).toBe('boolean')
      expect(decodeTransactionWithDigest(bytes).digest).toEqual(transactionDigest(tx.payload))
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), check), { numRuns: 2000 })
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.nat(255) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
    )
    fc.assert(
      fc.property(
        unsignedTransactionArb,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (tx, ms) => {
          let bytes = encodeTransaction(tx)
          for (const m of ms) {
            const at = bytes.length === 0 ? 0 : m.at % bytes.length
            const out = Array.from(bytes)
            if (m.kind === 'set') out[at] = m.value
            else if (m.kind === 'insert') out.splice(at, 0, m.value)
            else if (m.kind === 'delete') out.splice(at, 1)
            else out.length = at
            bytes = Uint8Array.from(out)
          }
          check(bytes)
        },
      ),
      { numRuns: 3000 },
    )
  })

  test('a "__proto__" key is refused and pollutes nothing', () => {
    // A 9-character key sorts last in the method map, so renaming it keeps the order canonical.
    const bytes = edited(accountTx, (v) => (v.payload.method.xxxxxxxxx = { polluted: 1 }))
    const at = bytesToHex(bytes).indexOf(bytesToHex(utf8.encode('xxxxxxxxx'))) / 2
    bytes.set(utf8.encode('__proto__'), at)
    expect(codeOf(() => decodeTransaction(bytes))).toBe('TX_MALFORMED')
    expect(({} as Cbor).polluted).toBeUndefined()
  })

  test('encodes to plain Uint8Arrays (not Node Buffers) in every runtime', () => {
    expect(encodeTransaction(accountTx).constructor).toBe(Uint8Array)
    expect(encodePayload(accountTx.payload).constructor).toBe(Uint8Array)
    expect(encodeTransaction(accountTx).byteOffset).toBe(0)
  })

  test('anything but bytes is TX_MALFORMED', () => {
    for (const v of [undefined, null, 'a2', [1], {}, new ArrayBuffer(4)]) {
      expect(codeOf(() => decodeTransaction(v as Uint8Array))).toBe('TX_MALFORMED')
    }
  })
})

describe('the digest', () => {
  test('is BLAKE3 derive-key "fulmen 2026 transaction" over the payload encoding', () => {
    fc.assert(
      fc.property(payloadArb(), (p) => {
        const expected = blake3(encodePayload(p), {
          context: utf8.encode('fulmen 2026 transaction'),
        })
        expect(bytesToHex(transactionDigest(p))).toBe(bytesToHex(expected))
      }),
      { numRuns: 100 },
    )
  })

  test('changes with every field', () => {
    const base = transactionDigest(accountTx.payload)
    const variants: TransactionPayload[] = [
      { ...accountTx.payload, chainId: 8 },
      { ...accountTx.payload, nonce: 4 },
      { ...accountTx.payload, sender: { kind: 'account', address: TEST_ACCOUNTS[2]! } },
      { ...accountTx.payload, method: { ...transfer, amount: 6n } },
      { ...accountTx.payload, method: { ...transfer, token: 'USDC' } },
      { ...accountTx.payload, method: { ...transfer, type: 'Deposit' } },
    ]
    for (const v of variants) expect(bytesToHex(transactionDigest(v))).not.toBe(bytesToHex(base))
  })
})

describe('account signatures (EIP-191 personal_sign over the digest)', () => {
  test('the address of secret key 1 is 0x7e5f4552091a69125d5dfcb7b8c2659029395bdf', () => {
    // The well-known address of private key 0x…01 (Ethereum's "key one").
    expect(bytesToHex(accountAddressOfSecretKey(TEST_ACCOUNT_KEYS[0]!))).toBe(
      '7e5f4552091a69125d5dfcb7b8c2659029395bdf',
    )
    const pk = secp256k1.getPublicKey(TEST_ACCOUNT_KEYS[0]!, false)
    expect(accountAddress(pk)).toEqual(
      accountAddress(secp256k1.getPublicKey(TEST_ACCOUNT_KEYS[0]!, true)),
    )
    expect(accountAddress(pk.subarray(1))).toEqual(TEST_ACCOUNTS[0])
    expect(codeOf(() => accountAddress(new Uint8Array(65)))).toBe('STATE_INVALID_ARGUMENT')
    expect(codeOf(() => accountAddress(new Uint8Array(64)))).toBe('STATE_INVALID_ARGUMENT')
  })

  test("matches viem's personal_sign vectors", () => {
    // viem (github wevm/viem): src/utils/signature/hashMessage.test.ts and
    // src/actions/wallet/signMessage.test.ts / src/accounts/utils/sign.test.ts: Anvil's account 0
    // (0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266) signs "hello world".
    const message = utf8.encode('hello world')
    expect(bytesToHex(accountAddressOfSecretKey(ANVIL_ACCOUNT_KEY))).toBe(
      'f39fd6e51aad88f6f4ce6ab8827279cfffb92266',
    )
    expect(bytesToHex(personalMessageHash(message))).toBe(
      'd9eba16ed0ecae432b71fe008c98cc872bb4cc214d3220a36f365326cf807d68',
    )
    const signature = hexToBytes(
      'a461f509887bd19e312c0c58467ce8ff8e300d3c1a90b608a760c5b80318eaf15fe57c96f9175d6cd4daad4663763baa7e78836e067d0163e9a2ccf2ff753f5b1b',
    )
    expect(bytesToHex(personalSign(message, ANVIL_ACCOUNT_KEY))).toBe(bytesToHex(signature))
    expect(bytesToHex(recoverPersonalSigner(message, signature)!)).toBe(
      'f39fd6e51aad88f6f4ce6ab8827279cfffb92266',
    )
  })

  test('signs personal_sign over the 32 digest bytes ("\\n32" in the prefix)', () => {
    const digest = transactionDigest(accountTx.payload)
    const prefixed = new Uint8Array([...utf8.encode('\x19Ethereum Signed Message:\n32'), ...digest])
    const sig = accountTx.signature
    expect([27, 28]).toContain(sig[64])
    const recovered = secp256k1.Signature.fromBytes(sig.subarray(0, 64), 'compact')
      .addRecoveryBit(sig[64]! - 27)
      .recoverPublicKey(personalMessageHash(digest))
    expect(accountAddress(recovered.toBytes(false))).toEqual(TEST_ACCOUNTS[0])
    expect(personalMessageHash(digest)).toEqual(keccak_256(prefixed))
  })

  test('verifies, and fails for a changed digest, signature, sender or chain id', () => {
    fc.assert(
      fc.property(testKeyPayloadArb(), fc.nat(), fc.nat(7), (payload, at, bit) => {
        const tx = signWithTestKey(payload)
        expect(verifyTransactionSignature(tx)).toBe(true)
        expect(verifyTransactionSignature(decodeTransaction(encodeTransaction(tx)))).toBe(true)
        const signature = tx.signature.slice()
        signature[at % signature.length]! ^= 1 << bit
        expect(verifyTransactionSignature({ payload, signature })).toBe(false)
        const other =
          payload.sender.kind === 'account'
            ? {
                kind: 'account' as const,
                address: TEST_ACCOUNTS[(TEST_ACCOUNTS.indexOf(payload.sender.address) + 1) % 3]!,
              }
            : {
                kind: 'node' as const,
                key: TEST_NODE_KEYS[(TEST_NODE_KEYS.indexOf(payload.sender.key) + 1) % 3]!,
              }
        expect(
          verifyTransactionSignature({
            payload: { ...payload, sender: other },
            signature: tx.signature,
          }),
        ).toBe(false)
        expect(
          verifyTransactionSignature({
            payload: { ...payload, chainId: payload.chainId + 1 },
            signature: tx.signature,
          }),
        ).toBe(false)
        expect(
          verifyTransactionSignature({
            payload: { ...payload, nonce: payload.nonce ^ 1 },
            signature: tx.signature,
          }),
        ).toBe(false)
      }),
      { numRuns: 40 },
    )
  })

  test('refuses the high-s twin of a valid signature and v outside {27, 28}', () => {
    const sig = accountTx.signature
    const n = secp256k1.Point.Fn.ORDER
    const s = BigInt(`0x${bytesToHex(sig.subarray(32, 64))}`)
    const twin = sig.slice()
    twin.set(hexToBytes((n - s).toString(16).padStart(64, '0')), 32)
    twin[64] = sig[64] === 27 ? 28 : 27
    // The twin is a valid ECDSA signature of the same key (noble, with lowS off, says so) …
    const digest = personalMessageHash(transactionDigest(accountTx.payload))
    const pk = secp256k1.getPublicKey(TEST_ACCOUNT_KEYS[0]!)
    expect(
      secp256k1.verify(twin.subarray(0, 64), digest, pk, { prehash: false, lowS: false }),
    ).toBe(true)
    // … which a transaction does not accept.
    expect(verifyTransactionSignature({ payload: accountTx.payload, signature: twin })).toBe(false)
    for (const v of [0, 1, 29, 35, 255]) {
      const bad = sig.slice()
      bad[64] = v
      expect(verifyTransactionSignature({ payload: accountTx.payload, signature: bad })).toBe(false)
    }
    // r = 0, s = 0, r ≥ n: no throw, false.
    expect(
      verifyTransactionSignature({
        payload: accountTx.payload,
        signature: new Uint8Array(65).fill(0),
      }),
    ).toBe(false)
    expect(
      verifyTransactionSignature({
        payload: accountTx.payload,
        signature: new Uint8Array(65).fill(0xff),
      }),
    ).toBe(false)
  })

  test('r and s are range-checked as bytes: 1 ≤ r < n, 1 ≤ s ≤ ⌊n/2⌋', () => {
    const n = secp256k1.Point.Fn.ORDER
    const at = (sig: Uint8Array, offset: number, value: bigint) => {
      const out = sig.slice()
      out.set(hexToBytes(value.toString(16).padStart(64, '0')), offset)
      return out
    }
    const digest = transactionDigest(accountTx.payload)
    const sig = accountTx.signature
    // s at the bound still recovers a key (another signer's), one above it is refused.
    expect(recoverPersonalSigner(digest, at(sig, 32, n >> 1n))).toBeDefined()
    expect(recoverPersonalSigner(digest, at(sig, 32, (n >> 1n) + 1n))).toBeUndefined()
    expect(recoverPersonalSigner(digest, at(sig, 32, 0n))).toBeUndefined()
    expect(recoverPersonalSigner(digest, at(sig, 32, 1n))).toBeDefined()
    // r = n and r = 0 are refused.
    expect(recoverPersonalSigner(digest, at(sig, 0, n))).toBeUndefined()
    expect(recoverPersonalSigner(digest, at(sig, 0, 0n))).toBeUndefined()
    expect(recoverPersonalSigner(digest, sig)).toEqual(TEST_ACCOUNTS[0])
  })

  test('verifyDigestSignature is verifyTransactionSignature given the digest', () => {
    const digest = transactionDigest(accountTx.payload)
    expect(verifyDigestSignature(accountTx, digest)).toBe(true)
    expect(verifyDigestSignature(nodeTx, transactionDigest(nodeTx.payload))).toBe(true)
    // The digest is what is checked: another one fails.
    expect(verifyDigestSignature(accountTx, transactionDigest(nodeTx.payload))).toBe(false)
    expect(verifyDigestSignature(nodeTx, digest)).toBe(false)
  })

  test('a signer refuses a payload from another sender', () => {
    expect(codeOf(() => signAccountTransaction(accountTx.payload, TEST_ACCOUNT_KEYS[1]!))).toBe(
      'STATE_INVALID_ARGUMENT',
    )
    expect(codeOf(() => signAccountTransaction(nodeTx.payload, TEST_ACCOUNT_KEYS[0]!))).toBe(
      'STATE_INVALID_ARGUMENT',
    )
    expect(codeOf(() => signNodeTransaction(nodeTx.payload, TEST_NODE_SEEDS[1]!))).toBe(
      'STATE_INVALID_ARGUMENT',
    )
    expect(codeOf(() => signNodeTransaction(accountTx.payload, TEST_NODE_SEEDS[0]!))).toBe(
      'STATE_INVALID_ARGUMENT',
    )
  })

  test('verification never throws on nonsense', () => {
    const nonsense: unknown[] = [
      null,
      {},
      { payload: null, signature: new Uint8Array(65) },
      { payload: accountTx.payload, signature: null },
      { payload: accountTx.payload, signature: new Uint8Array(64) },
      {
        payload: { ...accountTx.payload, sender: { kind: 'other' } },
        signature: new Uint8Array(65),
      },
      { payload: nodeTx.payload, signature: new Uint8Array(65) },
      { payload: nodeTx.payload, signature: new Uint8Array(64) },
    ]
    for (const tx of nonsense) expect(verifyTransactionSignature(tx as Transaction)).toBe(false)
  })
})

describe('node signatures (Ed25519 over the digest)', () => {
  test('the node key of a seed is its Ed25519 public key (RFC 8032 test 1)', () => {
    expect(
      bytesToHex(
        nodeKeyOfSeed(
          hexToBytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'),
        ),
      ),
    ).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
  })

  test('a node transaction verifies and senderId names the node key', () => {
    expect(verifyTransactionSignature(nodeTx)).toBe(true)
    expect(senderId(nodeTx.payload.sender)).toEqual(TEST_NODE_KEYS[0])
    expect(senderId(accountTx.payload.sender)).toEqual(TEST_ACCOUNTS[0])
    // The same signature bytes under an account sender of the same chain do not verify.
    expect(
      verifyTransactionSignature({
        payload: { ...nodeTx.payload, sender: { kind: 'account', address: TEST_ACCOUNTS[0]! } },
        signature: new Uint8Array([...nodeTx.signature, 27]),
      }),
    ).toBe(false)
  })
})

describe('node keys', () => {
  test('isValidNodeKey takes real keys and refuses small-order points, non-canonical encodings and wrong lengths', () => {
    for (const key of TEST_NODE_KEYS) expect(isValidNodeKey(key)).toBe(true)
    // The identity (y = 1) and the point of order 2 (y = −1): small order.
    const identity = new Uint8Array(32)
    identity[0] = 1
    const orderTwo = hexToBytes('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')
    expect(ed25519.Point.fromBytes(orderTwo).isSmallOrder()).toBe(true)
    // y = p (non-canonical: ≥ the field prime)
    const nonCanonical = hexToBytes(
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    )
    for (const key of [identity, orderTwo, nonCanonical, new Uint8Array(31), new Uint8Array(33)]) {
      expect(isValidNodeKey(key)).toBe(false)
    }
    expect(isValidNodeKey(null as unknown as Uint8Array)).toBe(false)
  })
})

describe('BLS proofs of possession (min-sig, POP DST)', () => {
  const a = makeBlsKey(new Uint8Array(32).fill(1))
  const b = makeBlsKey(new Uint8Array(32).fill(2))
  const proofA = proveBlsPossession(a.secretKey)

  test('keys: 96-byte G2 public keys, 48-byte G1 proofs, the same key from the same seed', () => {
    expect(a.publicKey.length).toBe(96)
    expect(proofA.length).toBe(48)
    expect(makeBlsKey(new Uint8Array(32).fill(1)).publicKey).toEqual(a.publicKey)
    expect(b.publicKey).not.toEqual(a.publicKey)
    expect(makeBlsKey().publicKey).not.toEqual(makeBlsKey().publicKey)
    expect(codeOf(() => makeBlsKey(new Uint8Array(16)))).toBe('STATE_INVALID_ARGUMENT')
  })

  test('a proof verifies for its own key only', () => {
    expect(verifyBlsPossession(a.publicKey, proofA)).toBe(true)
    expect(verifyBlsPossession(b.publicKey, proofA)).toBe(false)
    expect(verifyBlsPossession(b.publicKey, proveBlsPossession(b.secretKey))).toBe(true)
  })

  test('an ordinary signature over the key (another DST) is not a proof', () => {
    const bls = bls12_381.shortSignatures
    const plain = bls.Signature.toBytes(bls.sign(bls.hash(a.publicKey), a.secretKey))
    expect(bls.verify(plain, bls.hash(a.publicKey), a.publicKey)).toBe(true)
    expect(verifyBlsPossession(a.publicKey, plain)).toBe(false)
    const pop = bls.Signature.toBytes(bls.sign(bls.hash(a.publicKey, BLS_POP_DST), a.secretKey))
    expect(pop).toEqual(proofA)
  })

  test('flipped bytes, wrong lengths, the identity and garbage are false, never a throw', () => {
    fc.assert(
      fc.property(fc.nat(95), fc.nat(47), fc.nat(7), (atKey, atProof, bit) => {
        const key = a.publicKey.slice()
        key[atKey]! ^= 1 << bit
        const proof = proofA.slice()
        proof[atProof]! ^= 1 << bit
        expect(verifyBlsPossession(key, proofA)).toBe(false)
        expect(verifyBlsPossession(a.publicKey, proof)).toBe(false)
      }),
      { numRuns: 10 },
    )
    const identityG2 = new Uint8Array(96)
    identityG2[0] = 0xc0
    const identityG1 = new Uint8Array(48)
    identityG1[0] = 0xc0
    expect(verifyBlsPossession(identityG2, identityG1)).toBe(false)
    expect(verifyBlsPossession(a.publicKey, identityG1)).toBe(false)
    expect(verifyBlsPossession(a.publicKey.subarray(0, 95), proofA)).toBe(false)
    expect(verifyBlsPossession(a.publicKey, proofA.subarray(0, 47))).toBe(false)
    expect(verifyBlsPossession(new Uint8Array(96).fill(0xff), new Uint8Array(48).fill(0xff))).toBe(
      false,
    )
    expect(verifyBlsPossession(null as unknown as Uint8Array, proofA)).toBe(false)
  })

  test('points on the curves but outside the prime-order subgroups are refused', () => {
    // x = 2 on E2 (y² = x³ + 4(1 + i)) and x = 4 on E1 (y² = x³ + 4), compressed: on the curve,
    // not in the subgroup (found by trying small x; noble says which check fails).
    const rogueKey = hexToBytes(`80${'00'.repeat(94)}02`)
    const rogueProof = hexToBytes(`80${'00'.repeat(46)}04`)
    expect(() => bls12_381.G2.Point.fromBytes(rogueKey)).toThrow(/prime-order subgroup/)
    expect(() => bls12_381.G1.Point.fromBytes(rogueProof)).toThrow(/prime-order subgroup/)
    expect(verifyBlsPossession(rogueKey, proofA)).toBe(false)
    expect(verifyBlsPossession(a.publicKey, rogueProof)).toBe(false)
    expect(verifyBlsPossession(rogueKey, rogueProof)).toBe(false)
  })
})
