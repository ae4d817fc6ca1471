import fc from 'fast-check'
import { base16 } from 'multiformats/bases/base16'
import { base32, base32upper } from 'multiformats/bases/base32'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { base64, base64url } from 'multiformats/bases/base64'
import { base256emoji } from 'multiformats/bases/base256emoji'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { describe, expect, test } from 'vitest'
import {
  BLAKE3_MULTIHASH,
  contentIdSpellings,
  formatContentId,
  parseContentId,
  RAW_CODEC,
} from './content-id.ts'
import { B3Error } from './errors.ts'
import { hash } from './hash.ts'
import { hex, unhex } from './testing/kernels.ts'

const EMPTY_HEX = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'
// 'b' + RFC 4648 base32 (lowercase, unpadded) of 01 55 1e 20 <digest>, computed independently.
const EMPTY_CID = 'bafkr4ifpcne3t5pzugtkaqcn5i3nzskjtpfslsnnyejlpte2spfoihzsmi'

const root = fc.uint8Array({ minLength: 32, maxLength: 32 })

function cidOf(bytes: Uint8Array, code = RAW_CODEC, hashCode = BLAKE3_MULTIHASH): CID {
  return CID.createV1(code, createDigest(hashCode, bytes))
}

function rejection(input: string): unknown {
  try {
    parseContentId(input)
  } catch (e) {
    return e
  }
  return undefined
}

describe('known vector: the empty input', () => {
  const empty = unhex(EMPTY_HEX)

  test('is what the engine computes', () => {
    expect(hex(hash(new Uint8Array(0)))).toBe(EMPTY_HEX)
  })

  test('has the expected spellings', () => {
    const spellings = contentIdSpellings(empty)
    expect(spellings).toEqual({ hex: EMPTY_HEX, blake3: `blake3:${EMPTY_HEX}`, cid: EMPTY_CID })
    expect(spellings.cid.startsWith('bafkr4')).toBe(true)
    expect(formatContentId(empty)).toBe(EMPTY_HEX)
  })

  test('parses back from every spelling', () => {
    for (const spelling of ['hex', 'blake3', 'cid'] as const) {
      expect(hex(parseContentId(formatContentId(empty, spelling)))).toBe(EMPTY_HEX)
    }
  })
})

describe('round trips', () => {
  test('every spelling parses back to the same root', () => {
    fc.assert(
      fc.property(root, (r) => {
        for (const spelling of ['hex', 'blake3', 'cid'] as const) {
          const text = formatContentId(r, spelling)
          expect(parseContentId(text)).toEqual(r)
        }
      }),
    )
  })

  test('the canonical CID is base32 CIDv1 raw blake3', () => {
    fc.assert(
      fc.property(root, (r) => {
        const text = formatContentId(r, 'cid')
        expect(text).toMatch(/^bafkr4[a-z2-7]{53}$/)
        const cid = CID.parse(text)
        expect(cid.version).toBe(1)
        expect(cid.code).toBe(0x55)
        expect(cid.multihash.code).toBe(0x1e)
        expect(cid.multihash.digest).toEqual(r)
      }),
    )
  })

  test('hex in any case, blake3: prefix, surrounding whitespace', () => {
    fc.assert(
      fc.property(
        root,
        fc.constantFrom('', ' ', '\t', '\n', ' \r\n '),
        fc.constantFrom('', ' ', '\n'),
        (r, before, after) => {
          const h = hex(r)
          const mixed = [...h].map((c, i) => (i % 3 === 0 ? c.toUpperCase() : c)).join('')
          for (const text of [h, h.toUpperCase(), mixed, `blake3:${h}`, `blake3:${mixed}`]) {
            expect(parseContentId(`${before}${text}${after}`)).toEqual(r)
          }
        },
      ),
    )
  })

  test('CIDs in other multibases', () => {
    const bases = [base58btc, base36, base16, base32upper, base64, base64url, base256emoji]
    fc.assert(
      fc.property(root, (r) => {
        const cid = cidOf(r)
        for (const base of bases) expect(parseContentId(cid.toString(base))).toEqual(r)
      }),
    )
  })

  test('the returned root is a copy', () => {
    const r = unhex(EMPTY_HEX)
    const parsed = parseContentId(formatContentId(r, 'cid'))
    parsed.fill(0)
    expect(hex(parseContentId(EMPTY_CID))).toBe(EMPTY_HEX)
  })
})

describe('rejections', () => {
  const zeros = new Uint8Array(32)
  const sha256Multihash = 0x12
  const dagPb = 0x70
  const bad: [string, string][] = [
    ['empty', ''],
    ['whitespace only', ' \t\n '],
    ['63 hex characters', EMPTY_HEX.slice(1)],
    ['65 hex characters', `${EMPTY_HEX}0`],
    ['128 hex characters', EMPTY_HEX + EMPTY_HEX],
    ['non-hex character', `${EMPTY_HEX.slice(0, 63)}g`],
    ['inner whitespace', `${EMPTY_HEX.slice(0, 32)} ${EMPTY_HEX.slice(32)}`],
    ['0x prefix', `0x${EMPTY_HEX}`],
    ['blake3: without hex', 'blake3:'],
    ['blake3: short hex', `blake3:${EMPTY_HEX.slice(2)}`],
    ['blake3: with a CID', `blake3:${EMPTY_CID}`],
    ['other algorithm prefix', `sha256:${EMPTY_HEX}`],
    ['truncated CID', EMPTY_CID.slice(0, -3)],
    ['CID with trailing bytes', base32.encode(new Uint8Array([...cidOf(zeros).bytes, 0]))],
    ['CID with a bad base32 character', `${EMPTY_CID.slice(0, -1)}1`],
    ['CIDv0', 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'],
    ['CIDv1 dag-pb sha2-256', 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'],
    ['CIDv1 raw sha2-256', cidOf(zeros, RAW_CODEC, sha256Multihash).toString()],
    ['CIDv1 dag-pb blake3', cidOf(zeros, dagPb).toString()],
    ['blake3 digest of 31 bytes', cidOf(new Uint8Array(31)).toString()],
    ['blake3 digest of 64 bytes', cidOf(new Uint8Array(64)).toString()],
    ['unknown multibase prefix', `x${EMPTY_CID.slice(1)}`],
    ['multibase prefix only', 'b'],
    ['emoji multibase garbage', '🚀🚀🚀'],
    ['very long input', 'b'.repeat(10_000)],
    ['words', 'hello world'],
  ]

  test.each(bad)('%s', (_, input) => {
    const e = rejection(input)
    expect(e).toBeInstanceOf(B3Error)
    expect(e).toMatchObject({ code: 'B3_BAD_CONTENT_ID' })
    expect((e as Error).message.length).toBeGreaterThan(0)
  })

  test('non-strings are rejected with the same code', () => {
    expect(() => parseContentId(undefined as unknown as string)).toThrow(
      expect.objectContaining({ code: 'B3_BAD_CONTENT_ID' }),
    )
  })

  test('messages say what is wrong', () => {
    expect(rejection(EMPTY_HEX.slice(1))).toMatchObject({ message: expect.stringMatching(/64/) })
    expect(rejection('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG')).toMatchObject({
      message: expect.stringMatching(/CIDv0/),
    })
    expect(rejection(cidOf(zeros, dagPb).toString())).toMatchObject({
      message: expect.stringMatching(/codec/),
    })
    expect(rejection(cidOf(zeros, RAW_CODEC, sha256Multihash).toString())).toMatchObject({
      message: expect.stringMatching(/multihash/),
    })
  })

  test('formatContentId wants exactly 32 bytes and a known spelling', () => {
    for (const n of [0, 31, 33]) {
      expect(() => formatContentId(new Uint8Array(n))).toThrow(
        expect.objectContaining({ code: 'B3_INVALID_ARGUMENT' }),
      )
    }
    expect(() => formatContentId(zeros, 'base58' as 'cid')).toThrow(
      expect.objectContaining({ code: 'B3_INVALID_ARGUMENT' }),
    )
  })
})

describe('fuzz: parsing only ever throws B3_BAD_CONTENT_ID', () => {
  function parsesOrRejectsCleanly(input: string): void {
    let out: Uint8Array
    try {
      out = parseContentId(input)
    } catch (e) {
      expect(e).toBeInstanceOf(B3Error)
      expect((e as B3Error).code).toBe('B3_BAD_CONTENT_ID')
      return
    }
    expect(out).toBeInstanceOf(Uint8Array)
    expect(out.length).toBe(32)
  }

  const prefixes = ['', 'b', 'B', 'z', 'k', 'K', 'f', 'F', 'm', 'u', 'Q', '0', '7', '9', '\0', '🚀']
  const alphabet = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-_:🚀 ']
  const multibaseLike = fc
    .tuple(
      fc.constantFrom(...prefixes),
      fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 120 }),
    )
    .map(([p, s]) => p + s)

  /** A valid id with a few characters replaced, dropped or inserted. */
  const mutated = fc
    .tuple(
      root,
      fc.constantFrom('hex', 'blake3', 'cid', 'base58', 'base36'),
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.constantFrom('replace', 'drop', 'insert'),
          fc.string({ maxLength: 2 }),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    )
    .map(([r, spelling, edits]) => {
      let text =
        spelling === 'base58'
          ? cidOf(r).toString(base58btc)
          : spelling === 'base36'
            ? cidOf(r).toString(base36)
            : formatContentId(r, spelling)
      for (const [at, op, s] of edits) {
        const i = at % (text.length + 1)
        if (op === 'replace') text = text.slice(0, i) + s + text.slice(i + 1)
        else if (op === 'drop') text = text.slice(0, i) + text.slice(i + 1)
        else text = text.slice(0, i) + s + text.slice(i)
      }
      return text
    })

  test('arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'grapheme', maxLength: 80 }),
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc.string({ unit: 'binary-ascii', maxLength: 600 }),
        ),
        parsesOrRejectsCleanly,
      ),
      { numRuns: 2000 },
    )
  })

  test('multibase-looking strings', () => {
    fc.assert(fc.property(multibaseLike, parsesOrRejectsCleanly), { numRuns: 2000 })
  })

  test('valid ids with small edits', () => {
    fc.assert(fc.property(mutated, parsesOrRejectsCleanly), { numRuns: 2000 })
  })
})
