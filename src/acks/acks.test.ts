/**
 * Delivery acknowledgements (docs/protocol.md): the commitment encoding and its signature, the
 * hash chain, claims, every rule of the node's ledger with its error code, the window, and
 * the client's and the node's sides together over many windows and chain rollovers.
 */
import fc from 'fast-check'
import { blake3 } from 'hash-wasm'
import { describe, expect, test } from 'vitest'
import { hex } from '../b3/testing/kernels.ts'
import { generateClientKey } from '../crypto/client-key.ts'
import { poseidon } from '../crypto/poseidon.ts'
import {
  ACK_UNIT,
  AckError,
  type AckErrorCode,
  type AckFrame,
  AckLedger,
  type AckLedgerOptions,
  CHAIN_KEY,
  type Claim,
  COMMITMENT_LEN,
  type Commitment,
  chainStep,
  chainsTo,
  checkClaims,
  commitmentMessage,
  decodeClaim,
  decodeCommitment,
  encodeClaim,
  encodeCommitment,
  HashChain,
  SessionAcks,
  signCommitment,
  verifyClaim,
  verifyCommitment,
} from './index.ts'

const key = generateClientKey()
const otherKey = generateClientKey()
const NODE_KEY = new Uint8Array(32).map((_, i) => i + 1)
const SESSION = 0x0123_4567_89ab_cdefn
const EPOCH = 42n
const SERVICE = 0
const WINDOW = 4

function bytes32(fill: number): Uint8Array {
  return new Uint8Array(32).fill(fill)
}

/** Runs `fn` and returns the AckError code it throws (fails if it throws anything else). */
function codeOf(fn: () => unknown): AckErrorCode {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(AckError)
    expect((e as AckError).name).toBe('AckError')
    return (e as AckError).code
  }
  throw new Error('expected an AckError, nothing was thrown')
}

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice()
  out[bit >> 3]! ^= 1 << (bit & 7)
  return out
}

const commitmentArb: fc.Arbitrary<Commitment> = fc.record({
  version: fc.constant(1 as const),
  service: fc.integer({ min: 0, max: 0xffff_ffff }),
  commodity: fc.integer({ min: 0, max: 255 }),
  unit: fc.integer({ min: 1, max: 0xffff_ffff }),
  chainLength: fc.integer({ min: 1, max: 0xffff_ffff }),
  seq: fc.integer({ min: 0, max: 0xffff_ffff }),
  epoch: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  session: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  nodeKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  clientKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  anchor: fc.uint8Array({ minLength: 32, maxLength: 32 }),
})

/** A commitment this session's ledger accepts, but for the fields in `over`. */
function commitment(over: Partial<Commitment> = {}, chain = HashChain.create(8)): Commitment {
  return {
    version: 1,
    service: SERVICE,
    commodity: 0,
    unit: ACK_UNIT,
    chainLength: chain.length,
    seq: 0,
    epoch: EPOCH,
    session: SESSION,
    nodeKey: NODE_KEY,
    clientKey: key.publicKey,
    anchor: chain.anchor,
    ...over,
  }
}

function ledger(over: Partial<AckLedgerOptions> = {}): AckLedger {
  return new AckLedger({
    nodeKey: NODE_KEY,
    session: SESSION,
    epoch: EPOCH,
    clientKey: key.publicKey,
    service: SERVICE,
    window: WINDOW,
    ...over,
  })
}

/** A ledger with commitment 0 accepted, over `chain`. */
function committed(chain: HashChain, over: Partial<AckLedgerOptions> = {}) {
  const l = ledger(over)
  const signed = signCommitment(commitment({ chainLength: chain.length }, chain), key)
  l.commit(signed.commitment, signed.signature)
  return { l, signed }
}

describe('commitment encoding', () => {
  test('round-trips every commitment, in 130 bytes', () => {
    fc.assert(
      fc.property(commitmentArb, (c) => {
        const bytes = encodeCommitment(c)
        expect(bytes.length).toBe(COMMITMENT_LEN)
        expect(decodeCommitment(bytes)).toEqual(c)
        expect(encodeCommitment(decodeCommitment(bytes))).toEqual(bytes)
      }),
    )
  })

  test('lays the fields out as the spec says', () => {
    const c = commitment({ service: 0x01020304, seq: 7, epoch: 0x1112131415161718n })
    const b = encodeCommitment(c)
    expect(hex(b.subarray(0, 18))).toBe(
      ['01', '01020304', '00', '00040000', '00000008', '00000007'].join(''),
    )
    expect(hex(b.subarray(18, 26))).toBe('1112131415161718')
    expect(hex(b.subarray(26, 34))).toBe('0123456789abcdef')
    expect(b.subarray(34, 66)).toEqual(NODE_KEY)
    expect(b.subarray(66, 98)).toEqual(key.publicKey)
    expect(b.subarray(98, 130)).toEqual(c.anchor)
  })

  test('decoding random bytes yields a commitment or ACK_MALFORMED, nothing else', () => {
    const anyLength = fc.uint8Array({ maxLength: 200 })
    const exact = fc.uint8Array({ minLength: COMMITMENT_LEN, maxLength: COMMITMENT_LEN })
    const versioned = exact.map((b) => {
      b[0] = 1
      return b
    })
    fc.assert(
      fc.property(fc.oneof(anyLength, exact, versioned), (b) => {
        try {
          const c = decodeCommitment(b)
          expect(encodeCommitment(c)).toEqual(b)
        } catch (e) {
          expect(e).toBeInstanceOf(AckError)
          expect((e as AckError).code).toBe('ACK_MALFORMED')
        }
      }),
      { numRuns: 500 },
    )
  })

  test('refuses another version, zero units, empty chains, bad field values', () => {
    const b = encodeCommitment(commitment())
    const v2 = b.slice()
    v2[0] = 2
    expect(codeOf(() => decodeCommitment(v2))).toBe('ACK_MALFORMED')
    expect(codeOf(() => decodeCommitment(b.subarray(0, 129)))).toBe('ACK_MALFORMED')
    expect(codeOf(() => encodeCommitment(commitment({ unit: 0 })))).toBe('ACK_MALFORMED')
    expect(codeOf(() => encodeCommitment(commitment({ chainLength: 0 })))).toBe('ACK_MALFORMED')
    expect(codeOf(() => encodeCommitment(commitment({ seq: -1 })))).toBe('ACK_MALFORMED')
    expect(codeOf(() => encodeCommitment(commitment({ epoch: 1n << 64n })))).toBe('ACK_MALFORMED')
    expect(codeOf(() => encodeCommitment(commitment({ anchor: bytes32(0).subarray(1) })))).toBe(
      'ACK_MALFORMED',
    )
  })

  test('the message is Poseidon of the six big-endian pieces', () => {
    const c = commitment()
    const b = encodeCommitment(c)
    const big = (s: Uint8Array) => BigInt(`0x${hex(s)}`)
    const expected = poseidon([
      big(b.subarray(0, 18)),
      big(b.subarray(18, 34)),
      big(c.nodeKey.subarray(0, 16)),
      big(c.nodeKey.subarray(16)),
      big(c.anchor.subarray(0, 16)),
      big(c.anchor.subarray(16)),
    ])
    expect(commitmentMessage(c)).toBe(expected)
    // The client key is bound by the signature, not the message.
    expect(commitmentMessage({ ...c, clientKey: otherKey.publicKey })).toBe(expected)
    expect(commitmentMessage({ ...c, seq: 1 })).not.toBe(expected)
  })
})

describe('commitment signatures', () => {
  const c = commitment()
  const signed = signCommitment(c, key)

  test('a signed commitment verifies and decodes to itself', () => {
    expect(signed.signature.length).toBe(64)
    expect(verifyCommitment(signed.commitment, signed.signature)).toEqual(c)
  })

  test('signing for another client key than the commitment names is refused', () => {
    expect(codeOf(() => signCommitment(c, otherKey))).toBe('ACK_WRONG_CLIENT')
  })

  test('any bit flipped in the commitment or the signature is refused', () => {
    const bits = fc.integer({ min: 0, max: (COMMITMENT_LEN + 64) * 8 - 1 })
    fc.assert(
      fc.property(bits, (bit) => {
        const both = new Uint8Array(COMMITMENT_LEN + 64)
        both.set(signed.commitment)
        both.set(signed.signature, COMMITMENT_LEN)
        const flipped = flip(both, bit)
        const code = codeOf(() =>
          verifyCommitment(flipped.subarray(0, COMMITMENT_LEN), flipped.subarray(COMMITMENT_LEN)),
        )
        // A flip in the version byte, or one that zeroes unit or chainLength, is malformed.
        expect(['ACK_FORGED_COMMITMENT', 'ACK_MALFORMED']).toContain(code)
      }),
      { numRuns: 30 },
    )
    // One flip in each part of the message, the client key and the signature: forged.
    for (const bit of [8 * 1, 8 * 14 + 7, 8 * 20, 8 * 40, 8 * 70, 8 * 100, 8 * 129 + 7]) {
      expect(codeOf(() => verifyCommitment(flip(signed.commitment, bit), signed.signature))).toBe(
        'ACK_FORGED_COMMITMENT',
      )
    }
    for (const bit of [0, 8 * 40, 8 * 63]) {
      expect(codeOf(() => verifyCommitment(signed.commitment, flip(signed.signature, bit)))).toBe(
        'ACK_FORGED_COMMITMENT',
      )
    }
  })

  test("another key's signature, or a signature of another length, is refused", () => {
    const theirs = otherKey.sign(commitmentMessage(c))
    expect(codeOf(() => verifyCommitment(signed.commitment, theirs))).toBe('ACK_FORGED_COMMITMENT')
    // Their own commitment, with our key swapped in: the signature no longer matches the key.
    const mine = signCommitment({ ...c, clientKey: otherKey.publicKey }, otherKey)
    const swapped = mine.commitment.slice()
    swapped.set(key.publicKey, 66)
    expect(codeOf(() => verifyCommitment(swapped, mine.signature))).toBe('ACK_FORGED_COMMITMENT')
    expect(codeOf(() => verifyCommitment(signed.commitment, signed.signature.subarray(1)))).toBe(
      'ACK_MALFORMED',
    )
  })
})

describe('hash chain', () => {
  test('H is BLAKE3 keyed with the chain key (checked against hash-wasm)', async () => {
    const x = bytes32(9)
    expect(hex(chainStep(x))).toBe(await blake3(x, 256, CHAIN_KEY))
    expect(CHAIN_KEY.length).toBe(32)
    expect(() => chainStep(x.subarray(1))).toThrow(TypeError)
  })

  test('reveal i is H^(L-i)(seed); the anchor is reveal 0; each reveal hashes to the one before', () => {
    const seed = bytes32(1)
    const chain = HashChain.create(10, seed)
    expect(chain.length).toBe(10)
    expect(chain.reveal(10)).toEqual(seed)
    expect(chain.anchor).toEqual(chain.reveal(0))
    for (let i = 1; i <= 10; i++) {
      expect(chainStep(chain.reveal(i))).toEqual(chain.reveal(i - 1))
      expect(chainsTo(chain.reveal(i), i, chain.anchor)).toBe(true)
      expect(chainsTo(chain.reveal(i), i - 1, chain.anchor)).toBe(false)
    }
    expect(HashChain.create(10, seed).anchor).toEqual(chain.anchor)
    expect(HashChain.create(10).anchor).not.toEqual(chain.anchor)
    expect(chainsTo(chain.anchor, 0, chain.anchor)).toBe(true)
  })

  test('refuses out-of-range lengths and indexes', () => {
    expect(() => HashChain.create(0)).toThrow(RangeError)
    expect(() => HashChain.create(1.5)).toThrow(RangeError)
    const chain = HashChain.create(3)
    expect(() => chain.reveal(4)).toThrow(RangeError)
    expect(() => chain.reveal(-1)).toThrow(RangeError)
    expect(() => chainsTo(chain.anchor, -1, chain.anchor)).toThrow(RangeError)
  })

  test('reveals are copies: changing one does not change the chain', () => {
    const chain = HashChain.create(3)
    const r = chain.reveal(2)
    r.fill(0)
    expect(chainsTo(chain.reveal(2), 2, chain.anchor)).toBe(true)
  })
})

describe('claims', () => {
  const chain = HashChain.create(8)
  const signed = signCommitment(commitment({}, chain), key)
  const claim: Claim = { ...signed, index: 5, reveal: chain.reveal(5) }

  test('encode and decode round-trip; a good claim verifies', () => {
    const bytes = encodeClaim(claim)
    expect(bytes.length).toBe(230)
    expect(hex(bytes.subarray(194, 198))).toBe('00000005')
    expect(decodeClaim(bytes)).toEqual(claim)
    expect(verifyClaim(decodeClaim(bytes))).toEqual(decodeCommitment(signed.commitment))
  })

  test('decoding random bytes yields a claim or ACK_MALFORMED', () => {
    const good = encodeClaim(claim)
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ minLength: 230, maxLength: 230 }),
          fc.integer({ min: 0, max: 230 * 8 - 1 }).map((bit) => flip(good, bit)),
        ),
        (b) => {
          try {
            expect(encodeClaim(decodeClaim(b))).toEqual(b)
          } catch (e) {
            expect(e).toBeInstanceOf(AckError)
            expect((e as AckError).code).toBe('ACK_MALFORMED')
          }
        },
      ),
      { numRuns: 500 },
    )
  })

  test('a claim that does not chain, overclaims or is forged is refused', () => {
    expect(codeOf(() => verifyClaim({ ...claim, index: 4 }))).toBe('ACK_BAD_REVEAL')
    expect(codeOf(() => verifyClaim({ ...claim, reveal: chain.reveal(4) }))).toBe('ACK_BAD_REVEAL')
    expect(codeOf(() => verifyClaim({ ...claim, index: 9 }))).toBe('ACK_OVERCLAIM')
    expect(codeOf(() => verifyClaim({ ...claim, signature: flip(claim.signature, 3) }))).toBe(
      'ACK_FORGED_COMMITMENT',
    )
    expect(codeOf(() => encodeClaim({ ...claim, index: -1 }))).toBe('ACK_MALFORMED')
    expect(codeOf(() => encodeClaim({ ...claim, reveal: new Uint8Array(31) }))).toBe(
      'ACK_MALFORMED',
    )
  })

  test('checkClaims (the batch) gives each claim what verifyClaim gives it, and never throws', () => {
    const good = encodeClaim(claim)
    const variants = [
      good,
      encodeClaim({ ...claim, index: 4 }),
      encodeClaim({ ...claim, index: 9 }),
      encodeClaim({ ...claim, signature: flip(claim.signature, 3) }),
      encodeClaim({ ...claim, signature: flip(claim.signature, 300) }),
      good.subarray(0, 229),
    ]
    const single = (bytes: Uint8Array): string => {
      try {
        verifyClaim(decodeClaim(bytes))
        return 'ok'
      } catch (e) {
        return (e as AckError).code
      }
    }
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom(...variants),
            fc.uint8Array({ maxLength: 240 }),
            fc.integer({ min: 0, max: 230 * 8 - 1 }).map((bit) => flip(good, bit)),
          ),
          { maxLength: 8 },
        ),
        (batch) => {
          const checks = checkClaims(batch)
          expect(checks.map((c) => (c.ok ? 'ok' : c.error.code))).toEqual(batch.map(single))
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('the node ledger refuses', () => {
  test('commitments for another node, session, epoch, client or service', () => {
    const cases: [Partial<Commitment>, AckErrorCode][] = [
      [{ nodeKey: bytes32(0xee) }, 'ACK_WRONG_NODE'],
      [{ session: SESSION + 1n }, 'ACK_WRONG_SESSION'],
      [{ epoch: EPOCH - 1n }, 'ACK_WRONG_EPOCH'],
      [{ service: 1 }, 'ACK_WRONG_SERVICE'],
      [{ commodity: 1 }, 'ACK_WRONG_SERVICE'],
      [{ unit: 1024 }, 'ACK_WRONG_SERVICE'],
    ]
    for (const [over, code] of cases) {
      const signed = signCommitment(commitment(over), key)
      expect(codeOf(() => ledger().commit(signed.commitment, signed.signature))).toBe(code)
    }
    // Signed, correctly, by a client other than the session's.
    const theirs = signCommitment(commitment({ clientKey: otherKey.publicKey }), otherKey)
    expect(codeOf(() => ledger().commit(theirs.commitment, theirs.signature))).toBe(
      'ACK_WRONG_CLIENT',
    )
  })

  test('forged and malformed commitments', () => {
    const signed = signCommitment(commitment(), key)
    const l = ledger()
    expect(codeOf(() => l.commit(flip(signed.commitment, 8 * 110), signed.signature))).toBe(
      'ACK_FORGED_COMMITMENT',
    )
    expect(codeOf(() => l.commit(signed.commitment, flip(signed.signature, 8 * 33)))).toBe(
      'ACK_FORGED_COMMITMENT',
    )
    expect(codeOf(() => l.commit(signed.commitment.subarray(1), signed.signature))).toBe(
      'ACK_MALFORMED',
    )
    expect(codeOf(() => l.commit(signed.commitment, signed.signature.subarray(1)))).toBe(
      'ACK_MALFORMED',
    )
    // None of these counted: the real one is still commitment 0.
    expect(l.commitments).toBe(0)
    l.commit(signed.commitment, signed.signature)
    expect(l.commitments).toBe(1)
  })

  test('commitments out of order; a repeated commitment is accepted once, not re-verified', () => {
    const l = ledger()
    const first = signCommitment(commitment({ seq: 1 }), key)
    expect(codeOf(() => l.commit(first.commitment, first.signature))).toBe('ACK_SEQUENCE')
    const zero = signCommitment(commitment(), key)
    const c0 = l.commit(zero.commitment, zero.signature)
    // The same bytes again (a retransmission): the same commitment object, no new check.
    expect(l.commit(zero.commitment, zero.signature)).toBe(c0)
    expect(l.commitments).toBe(1)
    // Another commitment 0 (another anchor): not the next one.
    const again = signCommitment(commitment(), key)
    expect(codeOf(() => l.commit(again.commitment, again.signature))).toBe('ACK_SEQUENCE')
    expect(
      codeOf(() =>
        l.commit(signCommitment(commitment({ seq: 2 }), key).commitment, zero.signature),
      ),
    ).toBe('ACK_SEQUENCE')
    l.commit(first.commitment, first.signature)
    expect(l.commitments).toBe(2)
  })

  test('reveals for a commitment never made', () => {
    const chain = HashChain.create(8)
    const { l } = committed(chain)
    l.delivered(2)
    expect(codeOf(() => l.reveal(1, 1, chain.reveal(1)))).toBe('ACK_NO_COMMITMENT')
    expect(codeOf(() => l.reveal(-1, 1, chain.reveal(1)))).toBe('ACK_NO_COMMITMENT')
    expect(codeOf(() => ledger().reveal(0, 1, chain.reveal(1)))).toBe('ACK_NO_COMMITMENT')
  })

  test('reveals that do not chain', () => {
    const chain = HashChain.create(8)
    const { l } = committed(chain)
    l.delivered(4)
    expect(codeOf(() => l.reveal(0, 2, chain.reveal(1)))).toBe('ACK_BAD_REVEAL')
    expect(codeOf(() => l.reveal(0, 2, chain.reveal(3)))).toBe('ACK_BAD_REVEAL')
    expect(codeOf(() => l.reveal(0, 2, HashChain.create(8).reveal(2)))).toBe('ACK_BAD_REVEAL')
    expect(codeOf(() => l.reveal(0, 2, new Uint8Array(31)))).toBe('ACK_MALFORMED')
    expect(l.acknowledgedUnits).toBe(0)
    l.reveal(0, 2, chain.reveal(2))
    // From the last accepted value on, not from the anchor.
    expect(codeOf(() => l.reveal(0, 3, chain.reveal(2)))).toBe('ACK_BAD_REVEAL')
    l.reveal(0, 3, chain.reveal(3))
    expect(l.acknowledgedUnits).toBe(3)
  })

  test('stale reveals (the same index again, or a lower one) are dropped, not punished', () => {
    const chain = HashChain.create(8)
    const { l } = committed(chain)
    l.delivered(4)
    expect(l.reveal(0, 3, chain.reveal(3))).toMatchObject({ index: 3 })
    // Stale reveals grant nothing, whatever value they carry: no claim, no error, no count.
    expect(l.reveal(0, 3, chain.reveal(3))).toBeUndefined()
    expect(l.reveal(0, 2, chain.reveal(2))).toBeUndefined()
    expect(l.reveal(0, 1, new Uint8Array(32))).toBeUndefined()
    expect(l.reveal(0, 0, chain.anchor)).toBeUndefined()
    expect(l.acknowledgedUnits).toBe(3)
    expect(l.staleReveals).toBe(4)
    // The chain goes on from the accepted value.
    expect(l.reveal(0, 4, chain.reveal(4))).toMatchObject({ index: 4 })
    expect(l.acknowledgedUnits).toBe(4)
  })

  test('overclaims: beyond the chain, or more than delivered', () => {
    const chain = HashChain.create(4)
    const { l } = committed(chain)
    l.delivered(6)
    expect(codeOf(() => l.reveal(0, 5, chain.reveal(4)))).toBe('ACK_OVERCLAIM')
    const short = HashChain.create(8)
    const s = committed(short).l
    s.delivered(2)
    expect(codeOf(() => s.reveal(0, 3, short.reveal(3)))).toBe('ACK_OVERCLAIM')
    s.reveal(0, 2, short.reveal(2))
    expect(codeOf(() => s.reveal(0, 3, short.reveal(3)))).toBe('ACK_OVERCLAIM')
    s.delivered()
    s.reveal(0, 3, short.reveal(3))
    expect(s.acknowledgedUnits).toBe(3)
  })

  test('overclaims across commitments count every commitment', () => {
    const c0 = HashChain.create(2)
    const c1 = HashChain.create(8)
    const { l } = committed(c0)
    const next = signCommitment(commitment({ seq: 1, chainLength: 8 }, c1), key)
    l.commit(next.commitment, next.signature)
    l.delivered(3)
    l.reveal(0, 2, c0.reveal(2))
    expect(codeOf(() => l.reveal(1, 2, c1.reveal(2)))).toBe('ACK_OVERCLAIM')
    l.reveal(1, 1, c1.reveal(1))
    expect(l.acknowledgedUnits).toBe(3)
  })
})

describe('the window', () => {
  test('canSend while fewer than window units are unacknowledged', () => {
    const chain = HashChain.create(16)
    const { l } = committed(chain)
    for (let i = 0; i < WINDOW; i++) {
      expect(l.canSend()).toBe(true)
      l.delivered()
    }
    expect(l.canSend()).toBe(false)
    expect(l.deliveredUnits).toBe(WINDOW)
    l.reveal(0, 1, chain.reveal(1))
    expect(l.canSend()).toBe(true)
  })

  test('whenCanSend resolves at once when there is room, else on the reveal that makes room', async () => {
    const chain = HashChain.create(16)
    const { l } = committed(chain)
    await expect(l.whenCanSend()).resolves.toBe(true)
    l.delivered(WINDOW)
    let settled: boolean | undefined
    const waiting = l.whenCanSend().then((room) => {
      settled = room
      return room
    })
    await Promise.resolve()
    expect(settled).toBeUndefined()
    l.delivered()
    expect(() => l.reveal(0, 1, chain.reveal(1))).not.toThrow()
    // One acknowledged, five delivered: still a full window.
    await Promise.resolve()
    expect(settled).toBeUndefined()
    l.reveal(0, 2, chain.reveal(2))
    await expect(waiting).resolves.toBe(true)
  })

  test('writeOff forgives nothing to a client that never acknowledged: the window stays full', async () => {
    const l = ledger()
    l.delivered(WINDOW)
    l.writeOff()
    expect(l.canSend()).toBe(false)
    expect(l.forgivenUnits).toBe(0)
    // Another abort, another join: still nothing more to send.
    l.writeOff()
    await expect(l.whenCanSend(undefined, 5)).resolves.toBe(false)
  })

  test('writeOff forgives out of a budget once the client acknowledged; reveals give it back', async () => {
    const chain = HashChain.create(64)
    const { l } = committed(chain)
    l.delivered(WINDOW)
    l.reveal(0, 1, chain.reveal(1))
    l.delivered(1)
    const waiting = l.whenCanSend(undefined, 60_000)
    // The client aborted after verifying one block: the three others in flight are forgiven.
    l.writeOff()
    await expect(waiting).resolves.toBe(true)
    expect(l.forgivenUnits).toBe(WINDOW)
    l.delivered(WINDOW)
    expect(l.canSend()).toBe(false)
    // A reveal covering written-off units makes them paid, not forgiven: the window moves by
    // the units revealed, never by more.
    l.reveal(0, 3, chain.reveal(3))
    expect(l.forgivenUnits).toBe(WINDOW)
    expect(l.canSend()).toBe(true)
    // The budget: window + acknowledged (3) = 7 units forgiven at most over the session.
    l.delivered(2)
    l.writeOff()
    expect(l.forgivenUnits).toBe(WINDOW + 3)
    // 11 delivered, 3 acknowledged, 7 forgiven: one unit stays owed, beyond the budget.
    expect(l.deliveredUnits - l.acknowledgedUnits - l.forgivenUnits).toBe(1)
    // Reveals may still cover what was written off, up to what was delivered.
    l.reveal(0, l.deliveredUnits, chain.reveal(l.deliveredUnits))
    expect(l.forgivenUnits).toBe(0)
    expect(() => l.reveal(0, l.deliveredUnits + 1, chain.reveal(l.deliveredUnits + 1))).toThrow(
      expect.objectContaining({ code: 'ACK_OVERCLAIM' }),
    )
  })

  test('a client that never reveals: delivered − acknowledged never exceeds the window (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('deliver' as const), units: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('abort' as const) }),
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 32 }),
        fc.array(op, { maxLength: 60 }),
        (window, ops) => {
          const l = ledger({ window })
          for (const o of ops) {
            // The server sends while the ledger lets it: `units` blocks at most, one at a time.
            if (o.kind === 'deliver') {
              for (let i = 0; i < o.units && l.canSend(); i++) l.delivered(1)
            } else l.writeOff()
            expect(l.deliveredUnits - l.acknowledgedUnits).toBeLessThanOrEqual(window)
          }
        },
      ),
      { numRuns: 500 },
    )
  })

  test('any client: never more than window unforgiven, forgiveness within window + acknowledged (property)', () => {
    const chain = HashChain.create(2048)
    const signed = signCommitment(commitment({ chainLength: chain.length }, chain), key)
    const op = fc.oneof(
      fc.record({ kind: fc.constant('deliver' as const), units: fc.integer({ min: 1, max: 24 }) }),
      fc.record({ kind: fc.constant('abort' as const) }),
      // Reveals `units` of what was delivered and not yet acknowledged.
      fc.record({ kind: fc.constant('reveal' as const), units: fc.integer({ min: 1, max: 24 }) }),
    )
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.array(op, { maxLength: 50 }),
        (window, ops) => {
          const l = ledger({ window })
          l.commit(signed.commitment, signed.signature)
          for (const o of ops) {
            if (o.kind === 'deliver') {
              for (let i = 0; i < o.units && l.canSend(); i++) l.delivered(1)
            } else if (o.kind === 'abort') l.writeOff()
            else {
              const index = Math.min(l.deliveredUnits, l.acknowledgedUnits + o.units)
              if (index > l.acknowledgedUnits) l.reveal(0, index, chain.reveal(index))
            }
            const unpaid = l.deliveredUnits - l.acknowledgedUnits
            expect(unpaid - l.forgivenUnits).toBeLessThanOrEqual(window)
            expect(l.forgivenUnits).toBeLessThanOrEqual(window + l.acknowledgedUnits)
            expect(l.forgivenUnits).toBeGreaterThanOrEqual(0)
            expect(unpaid).toBeLessThanOrEqual(2 * window + l.acknowledgedUnits)
          }
        },
      ),
      { numRuns: 100 },
    )
  })

  test('whenCanSend resolves false after its timeout', async () => {
    const { l } = committed(HashChain.create(16))
    l.delivered(WINDOW)
    await expect(l.whenCanSend(undefined, 5)).resolves.toBe(false)
  })

  test('whenCanSend rejects with the reason when its signal aborts, before or while waiting', async () => {
    const chain = HashChain.create(16)
    const { l } = committed(chain)
    const reason = new Error('stop')
    await expect(l.whenCanSend(AbortSignal.abort(reason))).rejects.toBe(reason)
    l.delivered(WINDOW)
    const controller = new AbortController()
    const waiting = l.whenCanSend(controller.signal, 60_000)
    controller.abort(reason)
    await expect(waiting).rejects.toBe(reason)
    // The aborted waiter is gone: a later reveal wakes only the live ones.
    const live = l.whenCanSend()
    l.reveal(0, 1, chain.reveal(1))
    await expect(live).resolves.toBe(true)
  })
})

describe('client and node together', () => {
  /** Plays a session: the node sends while it may, the client verifies and acknowledges. */
  function play(options: { chainLength: number; window: number; responses: number[] }) {
    const client = new SessionAcks({
      key,
      session: SESSION,
      nodeKey: NODE_KEY,
      epoch: EPOCH,
      service: SERVICE,
      window: options.window,
      unit: ACK_UNIT,
      chainLength: options.chainLength,
    })
    const node = ledger({ window: options.window })
    const claims = new Map<number, Claim>()
    const deliver = (frames: AckFrame[]) => {
      for (const f of frames) {
        if (f.kind === 'commit') node.commit(f.commitment, f.signature)
        else claims.set(f.seq, node.reveal(f.seq, f.index, f.value)!)
      }
    }
    deliver([client.begin()])
    for (const blocks of options.responses) {
      for (let b = 0; b < blocks; b++) {
        // The client acknowledges every `window` units, so the node never has to wait.
        expect(node.canSend()).toBe(true)
        node.delivered()
        deliver(client.verified())
      }
      deliver(client.flush())
      expect(node.acknowledgedUnits).toBe(node.deliveredUnits)
    }
    return { client, node, claims }
  }

  test('over many windows and several chain rollovers, every claim verifies', () => {
    const responses = [1, 7, 16, 3, 30, 2]
    const total = responses.reduce((a, b) => a + b, 0)
    const { client, node, claims } = play({ chainLength: 10, window: 4, responses })
    expect(client.verifiedUnits).toBe(total)
    expect(client.acknowledgedUnits).toBe(total)
    expect(node.acknowledgedUnits).toBe(total)
    expect(client.commitments).toBe(Math.ceil(total / 10))
    expect(node.commitments).toBe(client.commitments)
    let units = 0
    for (const [seq, claim] of claims) {
      const c = verifyClaim(decodeClaim(encodeClaim(claim)))
      expect(c.seq).toBe(seq)
      expect(c.session).toBe(SESSION)
      units += claim.index
    }
    expect(units).toBe(total)
    // Every chain but the last is used up.
    for (let seq = 0; seq < client.commitments - 1; seq++) expect(claims.get(seq)!.index).toBe(10)
    // The cost counters accumulate durations; browsers coarsen performance.now() (100 µs
    // steps), so a short chain may measure 0: only their being real durations is checked.
    for (const ms of [client.signMs, client.hashMs]) {
      expect(Number.isFinite(ms)).toBe(true)
      expect(ms).toBeGreaterThanOrEqual(0)
    }
  })

  test('a window larger than the chain: one acknowledgement spans commitments', () => {
    const { client, claims } = play({ chainLength: 3, window: 8, responses: [20] })
    expect(client.commitments).toBe(7)
    let units = 0
    for (const claim of claims.values()) {
      verifyClaim(claim)
      units += claim.index
    }
    expect(units).toBe(20)
  })

  test('the client reveals every half window and at the end of each response', () => {
    const client = new SessionAcks({
      key,
      session: SESSION,
      nodeKey: NODE_KEY,
      epoch: EPOCH,
      service: SERVICE,
      window: 6,
      unit: ACK_UNIT,
      chainLength: 100,
    })
    expect(client.cadence).toBe(3)
    expect(() => client.verified()).toThrow(/begin/)
    const begun = client.begin()
    expect(begun.kind).toBe('commit')
    expect(() => client.begin()).toThrow(/already/)
    expect(client.verified()).toEqual([])
    expect(client.verified()).toEqual([])
    const due = client.verified()
    expect(due).toHaveLength(1)
    expect(due[0]).toMatchObject({ kind: 'reveal', seq: 0, index: 3 })
    expect(client.verified(5)).toMatchObject([{ kind: 'reveal', seq: 0, index: 8 }])
    expect(client.verified()).toEqual([])
    expect(client.flush()).toMatchObject([{ kind: 'reveal', seq: 0, index: 9 }])
    expect(client.flush()).toEqual([])
    expect(client.commitments).toBe(1)
  })
})
