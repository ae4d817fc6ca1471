/** `Range: bytes=…` (RFC 9110 §14) for one range; several ranges are served whole. */

export type RangeRequest =
  | { readonly kind: 'none' }
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' }

/** Parses `header` for content of `length` bytes. `end` is exclusive. */
export function parseRange(header: string | undefined, length: number): RangeRequest {
  if (header === undefined) return { kind: 'none' }
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  // A malformed or multi-range header is ignored (the whole content is served), as RFC 9110 allows.
  if (m === null) return { kind: 'none' }
  const [, a, b] = m as unknown as [string, string, string]
  if (a === '' && b === '') return { kind: 'none' }
  if (a === '') {
    // Suffix: the last `b` bytes.
    const n = Number(b)
    if (n === 0 || length === 0) return { kind: 'unsatisfiable' }
    return { kind: 'range', start: Math.max(0, length - n), end: length }
  }
  const start = Number(a)
  const last = b === '' ? length - 1 : Math.min(Number(b), length - 1)
  if (!Number.isSafeInteger(start) || start >= length || last < start)
    return { kind: 'unsatisfiable' }
  return { kind: 'range', start, end: last + 1 }
}
