import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatContentId } from '../../b3/content-id.ts'
import { parseRange } from '../../node/gateway/range.ts'
import { SwError } from './sw-errors.ts'
import { parseRangeHeader, resolveRange } from './sw-range.ts'
import { etagMatches, isUnderPrefix, parseSwRequest } from './sw-request.ts'

const ORIGIN = 'http://127.0.0.1:5173'
const root = Uint8Array.from({ length: 32 }, (_, i) => i * 7)
const hex = formatContentId(root, 'hex')
const cid = formatContentId(root, 'cid')
const url = (path: string) => new URL(path, ORIGIN)

describe('parseSwRequest', () => {
  it('reads every spelling of a BLAKE3 root to the same pointer', () => {
    for (const id of [hex, `blake3:${hex}`, cid, `ipfs/${cid}`]) {
      const r = parseSwRequest(url(`/fulmen/${id}`), '/fulmen/', null)
      expect(r.spelling).toBe(`blake3:${hex}`)
      expect(r.type).toBeUndefined()
      expect(r.range).toEqual({ kind: 'none' })
    }
  })

  it('reads an IPFS sha2-256 CID and an http pointer with integrity', () => {
    const v0 = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
    expect(parseSwRequest(url(`/fulmen/ipfs/${v0}`), '/fulmen/', null).pointer.kind).toBe('ipfs')
    const sri = `sha256-${btoa(String.fromCharCode(...new Uint8Array(32)))}`
    const q = new URLSearchParams({ url: 'https://example.com/a.png', integrity: sri })
    const r = parseSwRequest(url(`/fulmen/http?${q}`), '/fulmen/', null)
    expect(r.pointer).toEqual({ kind: 'http', url: 'https://example.com/a.png', integrity: sri })
    expect(r.spelling).toBe(`https://example.com/a.png#integrity=${sri}`)
  })

  it('takes ?type= as the Content-Type and the Range header as a spec', () => {
    const r = parseSwRequest(url(`/fulmen/${hex}?type=video/webm`), '/fulmen/', 'bytes=10-')
    expect(r.type).toBe('video/webm')
    expect(r.range).toEqual({ kind: 'from', start: 10, last: undefined })
    const p = parseSwRequest(url(`/fulmen/${hex}?type=text/plain;charset=utf-8`), '/fulmen/', null)
    expect(p.type).toBe('text/plain;charset=utf-8')
  })

  it('refuses what it cannot verify, with SW_BAD_REQUEST', () => {
    const refused = [
      '/fulmen/',
      '/fulmen/abc',
      '/fulmen/http?url=https://x.test/a',
      `/fulmen/${hex}?type=${encodeURIComponent('text/html\r\nx: y')}`,
      '/fulmen/%E0%A4%A',
      '/other/abc',
    ]
    for (const path of refused) {
      try {
        parseSwRequest(url(path), '/fulmen/', null)
        expect.unreachable(path)
      } catch (error) {
        expect(error).toBeInstanceOf(SwError)
        expect((error as SwError).code).toBe('SW_BAD_REQUEST')
      }
    }
  })

  it('fuzz: any path, query and Range gives a request or a SwError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.webPath(), fc.constantFrom(hex, cid, `ipfs/${cid}`, 'http')),
        fc.oneof(fc.string(), fc.webQueryParameters()),
        fc.option(fc.oneof(fc.string(), fc.constant('bytes=0-'), fc.constant('bytes=-5'))),
        (path, query, range) => {
          let u: URL
          try {
            u = url(`/fulmen/${path}?${query}`)
          } catch {
            return
          }
          try {
            const r = parseSwRequest(u, '/fulmen/', range)
            // A parsed request can be answered: its type is a valid header value.
            if (r.type !== undefined) new Headers({ 'content-type': r.type })
          } catch (error) {
            expect(error).toBeInstanceOf(SwError)
          }
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('answers only same-origin requests under the prefix', () => {
    expect(isUnderPrefix(url(`/fulmen/${hex}`), ORIGIN, '/fulmen/')).toBe(true)
    expect(isUnderPrefix(url('/fulmen/'), ORIGIN, '/fulmen/')).toBe(false)
    expect(isUnderPrefix(url('/fulmenx'), ORIGIN, '/fulmen/')).toBe(false)
    expect(isUnderPrefix(new URL(`http://evil.test/fulmen/${hex}`), ORIGIN, '/fulmen/')).toBe(false)
  })
})

describe('conditions: method and If-None-Match', () => {
  it('reads GET by default, HEAD when asked, and refuses other methods', () => {
    const r = parseSwRequest(url(`/fulmen/${hex}`), '/fulmen/', null)
    expect(r.method).toBe('GET')
    expect(r.ifNoneMatch).toBeUndefined()
    const head = parseSwRequest(url(`/fulmen/${hex}`), '/fulmen/', null, {
      method: 'HEAD',
      ifNoneMatch: `"${hex}"`,
    })
    expect(head.method).toBe('HEAD')
    expect(head.ifNoneMatch).toBe(`"${hex}"`)
    expect(() =>
      parseSwRequest(url(`/fulmen/${hex}`), '/fulmen/', null, { method: 'POST' }),
    ).toThrow(SwError)
  })

  it('matches the root as ETag: quoted, weak, in a list, or *', () => {
    expect(etagMatches(`"${hex}"`, hex)).toBe(true)
    expect(etagMatches(`W/"${hex}"`, hex)).toBe(true)
    expect(etagMatches(`"abc", "${hex}"`, hex)).toBe(true)
    expect(etagMatches('*', hex)).toBe(true)
    expect(etagMatches(undefined, hex)).toBe(false)
    expect(etagMatches(hex, hex)).toBe(false) // unquoted is not an entity tag
    expect(etagMatches(`"${hex.replace(/^./, hex[0] === '0' ? '1' : '0')}"`, hex)).toBe(false)
  })
})

describe('Range in two steps', () => {
  it('answers exactly as the gateway parseRange', () => {
    const header = fc.oneof(
      fc.string(),
      fc
        .tuple(fc.option(fc.nat(5000)), fc.option(fc.nat(5000)))
        .map(([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`),
      fc.constantFrom(
        'bytes=0-1,5-9',
        'bytes = 3 - 4',
        'BYTES=1-',
        'bytes=-0',
        'bytes=99999999999999999999-',
      ),
    )
    fc.assert(
      fc.property(fc.option(header), fc.nat(6000), (h, length) => {
        expect(resolveRange(parseRangeHeader(h), length)).toEqual(
          parseRange(h ?? undefined, length),
        )
      }),
      { numRuns: 5000 },
    )
  })
})
