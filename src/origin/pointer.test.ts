import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { base16 } from 'multiformats/bases/base16'
import { base32, base32upper } from 'multiformats/bases/base32'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { base64url } from 'multiformats/bases/base64'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { describe, expect, test } from 'vitest'
import { BLAKE3_MULTIHASH, formatContentId, RAW_CODEC } from '../b3/content-id.ts'
import {
  DAG_PB_CODEC,
  formatPointer,
  MAX_POINTER_LEN,
  OriginError,
  type Pointer,
  parseIntegrity,
  parsePointer,
  SHA2_256_MULTIHASH,
  toBase64,
} from './pointer.ts'

const ROOT = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1)
const ROOT_HEX = formatContentId(ROOT, 'hex')
const ROOT_CID = formatContentId(ROOT, 'cid')
const DIGEST = Uint8Array.from({ length: 32 }, (_, i) => 255 - i)
const RAW_SHA = CID.createV1(RAW_CODEC, createDigest(SHA2_256_MULTIHASH, DIGEST))
const PB_SHA = CID.createV1(DAG_PB_CODEC, createDigest(SHA2_256_MULTIHASH, DIGEST))

/** Base64 computed by the platform, independently of `toBase64`. */
function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
}

const HELLO = new TextEncoder().encode("alert('Hello, world.');")
// The example of the SRI spec (§3.2), computed independently.
const HELLO_SHA384 = 'sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO'

function rejection(input: unknown): unknown {
  try {
    parsePointer(input as string)
  } catch (e) {
    return e
  }
  return undefined
}

function expectBad(input: unknown, message?: RegExp): void {
  const e = rejection(input)
  expect(e, `${JSON.stringify(input)} should be refused`).toBeInstanceOf(OriginError)
  expect((e as OriginError).code).toBe('ORIGIN_BAD_POINTER')
  if (message) expect((e as OriginError).message).toMatch(message)
}

describe('blake3 pointers', () => {
  test('every content id spelling names the root', () => {
    for (const text of [
      ROOT_HEX,
      ROOT_HEX.toUpperCase(),
      `blake3:${ROOT_HEX}`,
      ROOT_CID,
      ` ${ROOT_CID}\n`,
      `ipfs://${ROOT_CID}`,
      `/ipfs/${ROOT_CID}`,
      `IPFS://${ROOT_CID}/`,
      CID.parse(ROOT_CID).toString(base58btc),
    ]) {
      expect(parsePointer(text), text).toEqual({ kind: 'blake3', root: ROOT })
    }
  })

  test('formats as blake3:<hex>', () => {
    expect(formatPointer({ kind: 'blake3', root: ROOT })).toBe(`blake3:${ROOT_HEX}`)
  })
})

describe('ipfs pointers', () => {
  const canonical = RAW_SHA.toString(base32)

  test('a raw sha2-256 CID in any form and multibase', () => {
    for (const text of [
      canonical,
      `ipfs://${canonical}`,
      `/ipfs/${canonical}`,
      `ipfs://${canonical}/`,
      RAW_SHA.toString(base32upper),
      RAW_SHA.toString(base58btc),
      RAW_SHA.toString(base36),
      RAW_SHA.toString(base16),
      `ipfs://${RAW_SHA.toString(base64url)}`,
    ]) {
      expect(parsePointer(text), text).toEqual({ kind: 'ipfs', cid: canonical })
    }
    expect(canonical.startsWith('bafkrei')).toBe(true)
    expect(formatPointer({ kind: 'ipfs', cid: RAW_SHA.toString(base58btc) })).toBe(
      `ipfs://${canonical}`,
    )
  })

  test('dag-pb (UnixFS) CIDs parse, CIDv0 as its CIDv1', () => {
    const v1 = PB_SHA.toString(base32)
    const v0 = CID.createV0(createDigest(SHA2_256_MULTIHASH, DIGEST)).toString()
    expect(v0.startsWith('Qm')).toBe(true)
    for (const text of [v1, `ipfs://${v1}`, v0, `ipfs://${v0}`, `/ipfs/${v0}`]) {
      expect(parsePointer(text), text).toEqual({ kind: 'ipfs', cid: v1 })
    }
  })

  test('an ipfs pointer with a raw blake3 CID formats as the blake3 pointer', () => {
    expect(formatPointer({ kind: 'ipfs', cid: ROOT_CID })).toBe(`blake3:${ROOT_HEX}`)
  })

  test('CIDs that cannot be verified or do not name content are refused', () => {
    const sha512 = CID.createV1(RAW_CODEC, createDigest(0x13, new Uint8Array(64))).toString()
    const ident = CID.createV1(RAW_CODEC, createDigest(0x00, new Uint8Array(4))).toString()
    const short = CID.createV1(RAW_CODEC, createDigest(BLAKE3_MULTIHASH, new Uint8Array(16)))
    const cbor = CID.createV1(0x71, createDigest(SHA2_256_MULTIHASH, DIGEST)).toString()
    expectBad(`ipfs://${sha512}`, /0x13/)
    expectBad(sha512, /0x13/)
    expectBad(`ipfs://${ident}`)
    expectBad(`ipfs://${short.toString()}`)
    expectBad(`/ipfs/${cbor}`, /codec 0x71/)
    expectBad(`ipfs://${canonical}/dir/file.txt`, /paths/)
    expectBad(`ipfs://${canonical}?x=1`)
    expectBad('ipfs://')
    expectBad('ipfs://not-a-cid')
    expectBad(`ipns://${canonical}`, /scheme/)
  })
})

describe('http pointers', () => {
  const d256 = sha256(HELLO)
  const d384 = sha384(HELLO)
  const d512 = sha512(HELLO)

  test('toBase64 agrees with the platform', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(toBase64(bytes)).toBe(b64(bytes))
      }),
    )
  })

  test('the SRI spec example', () => {
    expect(`sha384-${b64(d384)}`).toBe(HELLO_SHA384)
    expect(parsePointer(`https://example.com/hello.js#integrity=${HELLO_SHA384}`)).toEqual({
      kind: 'http',
      url: 'https://example.com/hello.js',
      integrity: HELLO_SHA384,
    })
  })

  test('sha256, sha384 and sha512', () => {
    for (const [alg, d] of [
      ['sha256', d256],
      ['sha384', d384],
      ['sha512', d512],
    ] as const) {
      const p = parsePointer(`http://127.0.0.1:8080/a?b=c#integrity=${alg}-${b64(d)}`)
      expect(p).toEqual({
        kind: 'http',
        url: 'http://127.0.0.1:8080/a?b=c',
        integrity: `${alg}-${b64(d)}`,
      })
    }
  })

  test('the strongest algorithm wins; unknown ones and options are ignored', () => {
    const meta = `sha256-${b64(d256)} sha1-abcd sha512-${b64(d512)}?opt=1 md5-xyz sha384-${b64(d384)}`
    const p = parsePointer(`https://x.test/#integrity=${encodeURIComponent(meta)}`)
    expect(p).toMatchObject({ integrity: `sha512-${b64(d512)}` })
    expect(parseIntegrity(meta)).toEqual({ algorithm: 'sha512', digests: [d512] })
  })

  test('several digests of the strongest algorithm are all kept, sorted', () => {
    const other = sha384(new Uint8Array(3))
    const sorted = [`sha384-${b64(d384)}`, `sha384-${b64(other)}`].sort()
    const a = parsePointer(`https://x.test/f#integrity=${sorted[1]} ${sorted[0]}`)
    const b = parsePointer(`https://x.test/f#integrity=${sorted[0]}%20${sorted[1]}&x=1`)
    expect(a).toEqual(b)
    expect(a).toMatchObject({ integrity: sorted.join(' ') })
    expect(formatPointer(a)).toBe(`https://x.test/f#integrity=${sorted.join('%20')}`)
  })

  test('integrity among other fragment parameters, base64url, no padding', () => {
    const url = base64url.baseEncode(d256)
    const p = parsePointer(`HTTPS://X.Test:443/f?q=1#a=b&integrity=sha256-${url}&c`)
    expect(p).toEqual({
      kind: 'http',
      url: 'https://x.test/f?q=1',
      integrity: `sha256-${b64(d256)}`,
    })
    expect(formatPointer(p)).toBe(`https://x.test/f?q=1#integrity=sha256-${b64(d256)}`)
  })

  test('URLs nothing could verify are refused', () => {
    expectBad('https://example.com/file', /integrity/)
    expectBad('http://example.com/file#integrity=', /no sha256/)
    expectBad('http://example.com/file#integrity=sha1-abcd', /no sha256/)
    expectBad('http://example.com/file?integrity=sha256-abcd')
    expectBad(`http://example.com/f#integrity=sha256-${b64(d384)}`, /32 bytes/)
    expectBad('http://example.com/f#integrity=sha256-!!!!')
    expectBad(`http://example.com/f#integrity=sha256-${b64(d256)}&integrity=sha256-x`, /twice/)
    expectBad(`http://user:pw@example.com/f#integrity=sha256-${b64(d256)}`, /credentials/)
    expectBad(`ftp://example.com/f#integrity=sha256-${b64(d256)}`, /scheme/)
    expectBad('http://example.com/f#integrity=%E0%A4%A')
    expectBad('http://[::1/f#integrity=x', /not a valid URL/)
  })
})

describe('refusals', () => {
  test('anything else is ORIGIN_BAD_POINTER', () => {
    for (const text of [
      '',
      '   ',
      'hello',
      'abc',
      'blake3:xyz',
      `${ROOT_HEX}0`,
      'bafy',
      '/ipfs',
      'data:text/plain,hi',
      'x'.repeat(MAX_POINTER_LEN + 1),
    ]) {
      expectBad(text)
    }
    expectBad(undefined)
    expectBad(42)
  })

  test('formatPointer refuses malformed pointers', () => {
    for (const p of [
      { kind: 'blake3', root: new Uint8Array(31) },
      { kind: 'ipfs', cid: 'nope' },
      { kind: 'http', url: 'https://x.test/', integrity: 'sha1-abc' },
      { kind: 'nope' },
    ]) {
      expect(() => formatPointer(p as Pointer)).toThrow(OriginError)
    }
  })
})

// -------------------------------------------------------------------------------------------
// Properties

const digest32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const sriToken = fc
  .constantFrom(['sha256', 32] as const, ['sha384', 48] as const, ['sha512', 64] as const)
  .chain(([alg, len]) => fc.uint8Array({ minLength: len, maxLength: len }).map((d) => ({ alg, d })))

const blake3Pointer = digest32.map((root): Pointer => ({ kind: 'blake3', root }))
const ipfsPointer = fc.tuple(digest32, fc.constantFrom(RAW_CODEC, DAG_PB_CODEC)).map(
  ([d, codec]): Pointer => ({
    kind: 'ipfs',
    cid: CID.createV1(codec, createDigest(SHA2_256_MULTIHASH, d)).toString(base32),
  }),
)
const httpInput = fc
  .tuple(
    fc.webUrl({ withQueryParameters: true, withFragments: false }),
    fc.array(sriToken, { minLength: 1, maxLength: 4 }),
    fc.array(fc.constantFrom('a=1', 'x', 'k=v%20w'), { maxLength: 2 }),
  )
  .map(([url, tokens, extra]) => {
    const meta = tokens.map(({ alg, d }) => `${alg}-${b64(d)}`).join(' ')
    const params = [...extra, `integrity=${encodeURIComponent(meta)}`]
    return { text: `${url}#${params.join('&')}`, tokens }
  })
const anyPointer = fc.oneof(
  blake3Pointer,
  ipfsPointer,
  httpInput.map(({ text }) => parsePointer(text)),
)

describe('properties', () => {
  test('parsePointer(formatPointer(p)) is p, and formatting is stable', () => {
    fc.assert(
      fc.property(anyPointer, (p) => {
        const text = formatPointer(p)
        expect(parsePointer(text)).toEqual(p)
        expect(formatPointer(parsePointer(text))).toBe(text)
      }),
    )
  })

  test('every spelling of a root or a CID gives the same pointer and key', () => {
    fc.assert(
      fc.property(digest32, (root) => {
        const cid = CID.createV1(RAW_CODEC, createDigest(BLAKE3_MULTIHASH, root))
        const spellings = [
          formatContentId(root, 'hex'),
          formatContentId(root, 'blake3'),
          cid.toString(base32),
          cid.toString(base58btc),
          `ipfs://${cid.toString(base36)}`,
          `/ipfs/${cid.toString(base32)}`,
        ]
        const keys = new Set(spellings.map((s) => formatPointer(parsePointer(s))))
        expect([...keys]).toEqual([formatContentId(root, 'blake3')])
      }),
    )
    fc.assert(
      fc.property(ipfsPointer, (p) => {
        const cid = CID.parse((p as { cid: string }).cid)
        for (const s of [cid.toString(base58btc), `ipfs://${cid.toString(base16)}`]) {
          expect(parsePointer(s)).toEqual(p)
        }
      }),
    )
  })

  test('http pointers keep exactly the strongest algorithm’s digests', () => {
    fc.assert(
      fc.property(httpInput, ({ text, tokens }) => {
        const p = parsePointer(text)
        if (p.kind !== 'http') throw new Error('expected an http pointer')
        const order = ['sha256', 'sha384', 'sha512']
        const strongest = order[Math.max(...tokens.map((t) => order.indexOf(t.alg)))]
        const want = [
          ...new Set(tokens.filter((t) => t.alg === strongest).map((t) => `${t.alg}-${b64(t.d)}`)),
        ].sort()
        expect(p.integrity.split(' ')).toEqual(want)
        expect(p.url).not.toContain('#')
      }),
    )
  })
})

// -------------------------------------------------------------------------------------------
// Fuzz: whatever the input, a Pointer or ORIGIN_BAD_POINTER, nothing else.

function parsesOrRefuses(input: string): void {
  let p: Pointer
  try {
    p = parsePointer(input)
  } catch (e) {
    if (!(e instanceof OriginError) || e.code !== 'ORIGIN_BAD_POINTER') throw e
    return
  }
  expect(parsePointer(formatPointer(p))).toEqual(p)
}

const mutated = fc
  .tuple(
    fc.oneof(
      anyPointer.map(formatPointer),
      fc.constant(`ipfs://${RAW_SHA.toString(base58btc)}`),
      fc.constant(`https://x.test/#integrity=${HELLO_SHA384}`),
    ),
    fc.nat(),
    fc.nat(10),
    fc.string({ maxLength: 6, unit: 'binary' }),
  )
  .map(([s, at, cut, insert]) => {
    const i = at % (s.length + 1)
    return s.slice(0, i) + insert + s.slice(i + cut)
  })

describe('fuzz', () => {
  test('random strings only raise ORIGIN_BAD_POINTER', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200, unit: 'binary' }),
          fc.string({ maxLength: 80, unit: 'grapheme' }),
          fc.stringMatching(/^(ipfs:\/\/|\/ipfs\/|https?:\/\/|blake3:)?[\w%#=&/:.?+-]{0,120}$/),
          mutated,
        ),
        parsesOrRefuses,
      ),
      { numRuns: 3000 },
    )
  })
})
