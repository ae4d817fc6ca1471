/**
 * `Range: bytes=…` (RFC 9110 §14.1.2) in two steps, because a service worker often reads the
 * header before it knows the content's length: `parseRangeHeader` (no length) and
 * `resolveRange` (with it). Together they answer exactly as the gateway's `parseRange`: one
 * range is served; a malformed or multi-range header is ignored (the whole content, 200), as
 * the RFC allows; a range starting past the end is unsatisfiable (416).
 */

/** A `Range` header read without the content's length. */
export type RangeSpec =
  | { readonly kind: 'none' }
  /** `bytes=start-` or `bytes=start-last` (`last` inclusive, as on the wire). */
  | { readonly kind: 'from'; readonly start: number; readonly last: number | undefined }
  /** `bytes=-n`: the last `n` bytes. */
  | { readonly kind: 'suffix'; readonly length: number }

export type ResolvedRange =
  | { readonly kind: 'none' }
  /** `end` exclusive. */
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' }

const SINGLE = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i

export function parseRangeHeader(header: string | null | undefined): RangeSpec {
  if (header === null || header === undefined) return { kind: 'none' }
  const m = SINGLE.exec(header)
  if (m === null) return { kind: 'none' }
  const a = m[1]!
  const b = m[2]!
  if (a === '' && b === '') return { kind: 'none' }
  if (a === '') return { kind: 'suffix', length: Number(b) }
  const start = Number(a)
  const last = b === '' ? undefined : Number(b)
  // Past 2^53 a number loses its digits: treat as unsatisfiable (below) rather than misread.
  return { kind: 'from', start, last }
}

/** The bytes `spec` asks of content of `length` bytes. */
export function resolveRange(spec: RangeSpec, length: number): ResolvedRange {
  if (spec.kind === 'none') return spec
  if (spec.kind === 'suffix') {
    if (spec.length === 0 || length === 0) return { kind: 'unsatisfiable' }
    return { kind: 'range', start: Math.max(0, length - spec.length), end: length }
  }
  const last = spec.last === undefined ? length - 1 : Math.min(spec.last, length - 1)
  if (!Number.isSafeInteger(spec.start) || spec.start >= length || last < spec.start)
    return { kind: 'unsatisfiable' }
  return { kind: 'range', start: spec.start, end: last + 1 }
}

/** The first byte `spec` asks for, when that is known without the length. */
export function rangeStart(spec: RangeSpec): number | undefined {
  return spec.kind === 'from' ? spec.start : spec.kind === 'none' ? 0 : undefined
}
