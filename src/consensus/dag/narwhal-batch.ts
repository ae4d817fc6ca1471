/**
 * Narwhal's transaction batches (DESIGN.md "Consensus"): a member's workers gather transactions
 * into batches, send them to the committee, and headers name them by digest only, so a header
 * stays small however much it orders. A batch is an ordered list of encoded transactions, as
 * one canonical DAG-CBOR array of byte strings; its digest is
 * `BLAKE3-derive-key("fulmen 2026 narwhal batch", encoding)`, as headers' digests are made
 * under their own context (narwhal-messages.ts), so a batch digest never names a header.
 *
 * The array holds only definite-length byte strings, so its canonical form is just the
 * shortest heads: the encoder writes it directly and the decoder checks it byte by byte
 * (cheaper than a general CBOR walk, and a batch is the largest thing a member decodes).
 * Decoding is strict: a non-shortest head, another major type, an empty transaction, one over
 * the state's size limit, too many or too many bytes, trailing bytes: all
 * `ConsensusError('CONSENSUS_MALFORMED')`.
 */
import { deriveKey } from '../../b3/hash.ts'
import { MAX_TRANSACTION_BYTES } from '../../state/transaction.ts'
import { ConsensusError } from '../errors.ts'

export const BATCH_CONTEXT = 'fulmen 2026 narwhal batch'

/** The most transaction bytes in one batch (the sum of their lengths, heads not counted). */
export const MAX_BATCH_BYTES = 512 * 1024
/** The most transactions in one batch. */
export const MAX_BATCH_TRANSACTIONS = 8192
/**
 * The longest encoding of a batch: the array head (3 bytes for up to 65,535 items), and each
 * transaction's head (at most 5 bytes: a length up to 2^32 − 1) before its bytes.
 */
export const MAX_BATCH_ENCODED_BYTES = 3 + MAX_BATCH_BYTES + 5 * MAX_BATCH_TRANSACTIONS

const MAJOR_BYTES = 2
const MAJOR_ARRAY = 4

/** Bytes of the shortest head carrying `n`. */
function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
}

function writeHead(out: Uint8Array, at: number, major: number, n: number): number {
  const m = major << 5
  if (n < 24) {
    out[at] = m | n
    return at + 1
  }
  if (n < 0x100) {
    out[at] = m | 24
    out[at + 1] = n
    return at + 2
  }
  if (n < 0x10000) {
    out[at] = m | 25
    out[at + 1] = n >> 8
    out[at + 2] = n & 0xff
    return at + 3
  }
  out[at] = m | 26
  out[at + 1] = n >>> 24
  out[at + 2] = (n >> 16) & 0xff
  out[at + 3] = (n >> 8) & 0xff
  out[at + 4] = n & 0xff
  return at + 5
}

/**
 * The batch's canonical DAG-CBOR bytes. Throws RangeError for what no batch may hold: no
 * transactions, an empty one, one over MAX_TRANSACTION_BYTES, over MAX_BATCH_TRANSACTIONS or
 * MAX_BATCH_BYTES in all (the caller cuts batches before these limits).
 */
export function encodeBatch(transactions: readonly Uint8Array[]): Uint8Array {
  const count = transactions.length
  if (count === 0) throw new RangeError('a batch holds at least one transaction')
  if (count > MAX_BATCH_TRANSACTIONS) {
    throw new RangeError(`a batch of ${count} transactions, over ${MAX_BATCH_TRANSACTIONS}`)
  }
  let payload = 0
  let size = headLength(count)
  for (const tx of transactions) {
    if (tx.length === 0) throw new RangeError('an empty transaction in a batch')
    if (tx.length > MAX_TRANSACTION_BYTES) {
      throw new RangeError(`a ${tx.length}-byte transaction, over ${MAX_TRANSACTION_BYTES}`)
    }
    payload += tx.length
    size += headLength(tx.length) + tx.length
  }
  if (payload > MAX_BATCH_BYTES) {
    throw new RangeError(`a batch of ${payload} transaction bytes, over ${MAX_BATCH_BYTES}`)
  }
  const out = new Uint8Array(size)
  let at = writeHead(out, 0, MAJOR_ARRAY, count)
  for (const tx of transactions) {
    at = writeHead(out, at, MAJOR_BYTES, tx.length)
    out.set(tx, at)
    at += tx.length
  }
  return out
}

function malformed(message: string): ConsensusError {
  return new ConsensusError('CONSENSUS_MALFORMED', `batch: ${message}`)
}

/** The head at `at` of major type `major`, in shortest form: [argument, next position]. */
function readHead(bytes: Uint8Array, at: number, major: number, what: string): [number, number] {
  if (at >= bytes.length) throw malformed(`ends before ${what}`)
  const first = bytes[at] as number
  if (first >> 5 !== major) throw malformed(`${what} is not of CBOR major type ${major}`)
  const info = first & 31
  let n: number
  let next: number
  if (info < 24) {
    n = info
    next = at + 1
  } else if (info === 24) {
    next = at + 2
    n = bytes[at + 1] as number
  } else if (info === 25) {
    next = at + 3
    n = ((bytes[at + 1] as number) << 8) | (bytes[at + 2] as number)
  } else if (info === 26) {
    next = at + 5
    n =
      (bytes[at + 1] as number) * 0x1000000 +
      (((bytes[at + 2] as number) << 16) |
        ((bytes[at + 3] as number) << 8) |
        (bytes[at + 4] as number))
  } else {
    // 27 (8-byte lengths) is past every limit; 28–30 are reserved; 31 is indefinite length,
    // which DAG-CBOR forbids.
    throw malformed(`${what} has a length head DAG-CBOR does not allow here (${info})`)
  }
  if (next > bytes.length) throw malformed(`ends inside ${what}'s head`)
  if (headLength(n) !== next - at) throw malformed(`${what}'s head is not in shortest form`)
  return [n, next]
}

/**
 * Walks a batch's bytes, checking every rule, and calls `each` with each transaction's range.
 * Returns the number of transactions.
 */
function walkBatch(
  bytes: Uint8Array,
  each: ((index: number, start: number, end: number) => void) | undefined,
): number {
  if (!(bytes instanceof Uint8Array)) throw malformed('not bytes')
  if (bytes.length > MAX_BATCH_ENCODED_BYTES) {
    throw malformed(`${bytes.length} bytes, over ${MAX_BATCH_ENCODED_BYTES}`)
  }
  const [count, first] = readHead(bytes, 0, MAJOR_ARRAY, 'the batch')
  if (count === 0) throw malformed('no transactions')
  if (count > MAX_BATCH_TRANSACTIONS) {
    throw malformed(`${count} transactions, over ${MAX_BATCH_TRANSACTIONS}`)
  }
  let at = first
  let payload = 0
  for (let i = 0; i < count; i++) {
    const [length, start] = readHead(bytes, at, MAJOR_BYTES, `transaction ${i}`)
    if (length === 0) throw malformed(`transaction ${i} is empty`)
    if (length > MAX_TRANSACTION_BYTES) {
      throw malformed(`transaction ${i} is ${length} bytes, over ${MAX_TRANSACTION_BYTES}`)
    }
    payload += length
    if (payload > MAX_BATCH_BYTES) throw malformed(`over ${MAX_BATCH_BYTES} transaction bytes`)
    if (start + length > bytes.length) throw malformed(`ends inside transaction ${i}`)
    each?.(i, start, start + length)
    at = start + length
  }
  if (at !== bytes.length) throw malformed(`${bytes.length - at} bytes after the last transaction`)
  return count
}

/**
 * The transactions of a batch's bytes (copies, in order). Untrusted bytes: anything but a
 * canonical encoding within the limits throws `ConsensusError('CONSENSUS_MALFORMED')`.
 */
export function decodeBatch(bytes: Uint8Array): Uint8Array[] {
  const transactions: Uint8Array[] = []
  walkBatch(bytes, (_, start, end) => {
    transactions.push(bytes.slice(start, end))
  })
  return transactions
}

/**
 * Checks that `bytes` are a batch, as `decodeBatch` would, without copying its transactions
 * (a receiver keeps the bytes and decodes them when it orders them). Returns how many
 * transactions it holds; throws `ConsensusError('CONSENSUS_MALFORMED')` as `decodeBatch` does.
 */
export function checkBatch(bytes: Uint8Array): number {
  return walkBatch(bytes, undefined)
}

/** The batch's name in headers: BLAKE3 derive-key under BATCH_CONTEXT over its encoding. */
export function batchDigest(encoded: Uint8Array): Uint8Array {
  return deriveKey(BATCH_CONTEXT, encoded)
}
