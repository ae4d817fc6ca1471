/**
 * The HTTP(S) origin: fetches an `http` pointer's URL and checks the body against its
 * Subresource Integrity metadata (sha256/384/512, any listed digest of the strongest algorithm
 * matching) while streaming, with @noble/hashes. Redirects are followed (the integrity covers
 * wherever the bytes came from); the hashed bytes are the decoded body, as in browsers. In a
 * browser, the usual CORS rules apply to the URL.
 */
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js'
import { equalBytes } from '../core/bytes.ts'
import {
  type BodyVerifier,
  describeUrl,
  type FetchFunction,
  fetchVerified,
  type Origin,
  type OriginFetchOptions,
} from './origin.ts'
import {
  type Integrity,
  OriginError,
  type Pointer,
  parseIntegrity,
  type SriAlgorithm,
  toBase64,
} from './pointer.ts'

export interface HttpOriginOptions {
  /** For logs and metrics; `http` by default. */
  readonly name?: string
  /** Extra request headers (a `User-Agent`, say). */
  readonly headers?: Record<string, string>
  /** Defaults to the global `fetch`. */
  readonly fetch?: FetchFunction
}

const hashers = { sha256, sha384, sha512 } as const

interface IncrementalHash {
  update(data: Uint8Array): unknown
  digest(): Uint8Array
}

function createHash(algorithm: SriAlgorithm): IncrementalHash {
  return hashers[algorithm].create() as IncrementalHash
}

/** Hashes the body with the integrity's algorithm; any listed digest may match. */
export function sriVerifier(integrity: Integrity, label: string): BodyVerifier {
  const hash = createHash(integrity.algorithm)
  return {
    update(chunk) {
      hash.update(chunk)
    },
    check() {
      const got = hash.digest()
      if (integrity.digests.some((d) => equalBytes(d, got))) return
      const expected = integrity.digests.map((d) => `${integrity.algorithm}-${toBase64(d)}`)
      throw new OriginError(
        'ORIGIN_INTEGRITY',
        `${label}: the body hashes to ${integrity.algorithm}-${toBase64(got)}, expected ${expected.join(' or ')}`,
      )
    },
  }
}

export function createHttpOrigin(options: HttpOriginOptions = {}): Origin {
  const name = options.name ?? 'http'
  return {
    name,
    accepts(pointer: Pointer): boolean {
      return pointer.kind === 'http'
    },
    async *fetch(pointer: Pointer, fetchOptions: OriginFetchOptions): AsyncGenerator<Uint8Array> {
      if (pointer.kind !== 'http') {
        throw new OriginError(
          'ORIGIN_UNAVAILABLE',
          `${name}: cannot fetch a ${pointer.kind} pointer`,
        )
      }
      const integrity = parseIntegrity(pointer.integrity)
      yield* fetchVerified(
        {
          ...fetchOptions,
          origin: name,
          url: pointer.url,
          headers: options.headers,
          fetch: options.fetch,
        },
        sriVerifier(integrity, `${name}: ${describeUrl(pointer.url)}`),
      )
    },
  }
}
