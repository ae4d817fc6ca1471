/**
 * The transactions waiting for a block. Sans-I/O and synchronous, like the session table: the
 * orderer decodes and verifies a transaction, reads its sender's nonce from the state, and
 * hands the pool the facts (digest, bytes, sender, nonce); the pool decides whether to keep it
 * and, for a block, which to take in which order.
 *
 * Order: per sender by nonce, contiguous from the sender's current nonce + 1 (a transaction
 * after a gap would revert with TX_NONCE, so it waits for the gap to fill); across senders by
 * arrival (the sender whose next transaction arrived first goes first), so no sender can push
 * the others back by sending many.
 *
 * Bounds: total transactions and bytes (MEMPOOL_FULL), and per sender at most `maxPerSender`
 * slots, all within `maxPerSender` nonces of its current one (MEMPOOL_NONCE_GAP), so one key
 * cannot fill the pool with transactions that never become executable.
 *
 * After each block the orderer drops what executed and tells the pool which nonces were taken
 * (`applyReceipts`); a sender's transactions at or below a taken nonce can never execute and
 * are dropped too.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import type { Digest, Receipt } from '../state/model.ts'
import { ConsensusError } from './errors.ts'

export interface MempoolOptions {
  /** Most transactions held (default 20,000). */
  readonly maxCount?: number
  /** Most bytes of encoded transactions held (default 64 MiB). */
  readonly maxBytes?: number
  /** Most transactions of one sender, and how far past its current nonce it may reach
   * (default 1024). */
  readonly maxPerSender?: number
}

/** What the orderer knows of a transaction it admits: decoded, verified, for this chain. */
export interface MempoolCandidate {
  readonly digest: Digest
  /** The encoded transaction, as received: what goes into the block. */
  readonly bytes: Uint8Array
  /** `senderId(sender)`: the account's address or the node's key. */
  readonly sender: Uint8Array
  readonly nonce: number
}

export interface PendingTransaction extends MempoolCandidate {
  /** Arrival order in this pool. */
  readonly arrival: number
}

export const DEFAULT_MEMPOOL_MAX_COUNT = 20_000
export const DEFAULT_MEMPOOL_MAX_BYTES = 64 * 1024 * 1024
export const DEFAULT_MEMPOOL_MAX_PER_SENDER = 1024

interface SenderQueue {
  /** The sender's nonce as last known: from the state at admission, or a receipt since. */
  base: number
  readonly byNonce: Map<number, PendingTransaction>
}

export class Mempool {
  readonly maxCount: number
  readonly maxBytes: number
  readonly maxPerSender: number

  readonly #byDigest = new Map<string, PendingTransaction>()
  readonly #senders = new Map<string, SenderQueue>()
  #bytes = 0
  #arrivals = 0

  constructor(options: MempoolOptions = {}) {
    this.maxCount = positive(options.maxCount ?? DEFAULT_MEMPOOL_MAX_COUNT, 'maxCount')
    this.maxBytes = positive(options.maxBytes ?? DEFAULT_MEMPOOL_MAX_BYTES, 'maxBytes')
    this.maxPerSender = positive(
      options.maxPerSender ?? DEFAULT_MEMPOOL_MAX_PER_SENDER,
      'maxPerSender',
    )
  }

  /** Transactions held. */
  get size(): number {
    return this.#byDigest.size
  }

  /** Bytes of the transactions held. */
  get bytes(): number {
    return this.#bytes
  }

  has(digest: Digest): boolean {
    return this.#byDigest.has(bytesToHex(digest))
  }

  get(digest: Digest): PendingTransaction | undefined {
    return this.#byDigest.get(bytesToHex(digest))
  }

  /** Transactions `sender` has pending. */
  countOf(sender: Uint8Array): number {
    return this.#senders.get(bytesToHex(sender))?.byNonce.size ?? 0
  }

  /**
   * The nonce `sender`'s next transaction should carry: one past its current nonce and past
   * every pending transaction of it that follows on without a gap. `stateNonce` is its nonce in
   * the latest state (the pool may know a higher one from receipts).
   */
  nextNonce(sender: Uint8Array, stateNonce: number): number {
    const queue = this.#senders.get(bytesToHex(sender))
    let nonce = Math.max(stateNonce, queue?.base ?? 0)
    while (queue?.byNonce.has(nonce + 1)) nonce++
    return nonce + 1
  }

  /**
   * Keeps `candidate`, whose sender's nonce in the latest state is `stateNonce`, or throws
   * ConsensusError: MEMPOOL_DUPLICATE, TX_NONCE (at or below the sender's nonce),
   * MEMPOOL_NONCE_GAP, MEMPOOL_FULL. Returns what it holds.
   */
  add(candidate: MempoolCandidate, stateNonce: number): PendingTransaction {
    const { digest, bytes, sender, nonce } = candidate
    const digestHex = bytesToHex(digest)
    if (this.#byDigest.has(digestHex)) {
      throw new ConsensusError('MEMPOOL_DUPLICATE', `transaction ${digestHex} is pending already`)
    }
    // The state may know a higher nonce than the pool (a block it did not see the receipts
    // of): what is at or below it goes first.
    this.nonceTaken(sender, stateNonce)
    const senderHex = bytesToHex(sender)
    const queue = this.#senders.get(senderHex)
    const base = Math.max(stateNonce, queue?.base ?? 0)
    if (!Number.isSafeInteger(nonce) || nonce <= base) {
      throw new ConsensusError(
        'TX_NONCE',
        `nonce ${nonce} of ${senderHex} is taken: its current nonce is ${base}`,
        { details: { nonce, current: base } },
      )
    }
    if (nonce > base + this.maxPerSender) {
      throw new ConsensusError(
        'MEMPOOL_NONCE_GAP',
        `nonce ${nonce} of ${senderHex} is more than ${this.maxPerSender} past its current nonce ${base}`,
        { details: { nonce, current: base } },
      )
    }
    if (queue?.byNonce.has(nonce)) {
      throw new ConsensusError(
        'MEMPOOL_DUPLICATE',
        `${senderHex} has another transaction with nonce ${nonce} pending`,
      )
    }
    if ((queue?.byNonce.size ?? 0) >= this.maxPerSender) {
      throw new ConsensusError(
        'MEMPOOL_FULL',
        `${senderHex} has ${this.maxPerSender} transactions pending, its most`,
      )
    }
    if (this.#byDigest.size >= this.maxCount || this.#bytes + bytes.length > this.maxBytes) {
      throw new ConsensusError(
        'MEMPOOL_FULL',
        `the mempool is full (${this.#byDigest.size} transactions, ${this.#bytes} bytes)`,
      )
    }
    const pending: PendingTransaction = {
      digest,
      bytes,
      sender,
      nonce,
      arrival: this.#arrivals++,
    }
    const target = queue ?? { base, byNonce: new Map() }
    target.base = base
    target.byNonce.set(nonce, pending)
    if (queue === undefined) this.#senders.set(senderHex, target)
    this.#byDigest.set(digestHex, pending)
    this.#bytes += bytes.length
    return pending
  }

  /**
   * Up to `maxCount` transactions of at most `maxBytes` together, for the next block, without
   * removing them (`drop` or `applyReceipts` does, after execution). Each sender's come in nonce
   * order from its current nonce + 1, without gaps; senders interleave by arrival.
   */
  take(maxCount: number, maxBytes: number): PendingTransaction[] {
    const out: PendingTransaction[] = []
    let bytes = 0
    // Each sender's next executable transaction, the earliest arrival on top.
    const heap = new ArrivalHeap()
    const nextOf = new Map<PendingTransaction, { queue: SenderQueue; nonce: number }>()
    for (const queue of this.#senders.values()) {
      const first = queue.byNonce.get(queue.base + 1)
      if (first === undefined) continue
      nextOf.set(first, { queue, nonce: queue.base + 1 })
      heap.push(first)
    }
    while (out.length < maxCount) {
      const tx = heap.pop()
      if (tx === undefined) break
      const at = nextOf.get(tx)!
      nextOf.delete(tx)
      // One that does not fit ends its sender's run: its successors need it first.
      if (bytes + tx.bytes.length > maxBytes) continue
      out.push(tx)
      bytes += tx.bytes.length
      const following = at.queue.byNonce.get(at.nonce + 1)
      if (following !== undefined) {
        nextOf.set(following, { queue: at.queue, nonce: at.nonce + 1 })
        heap.push(following)
      }
    }
    return out
  }

  /** Removes these transactions (executed, or given up); digests not held are ignored. */
  drop(digests: Iterable<Digest>): void {
    for (const digest of digests) {
      const pending = this.#byDigest.get(bytesToHex(digest))
      if (pending !== undefined) this.#remove(pending)
    }
  }

  /**
   * `sender`'s nonce is now `nonce` (a receipt said it was taken): every transaction of it at
   * or below can never execute, and goes.
   */
  nonceTaken(sender: Uint8Array, nonce: number): void {
    const queue = this.#senders.get(bytesToHex(sender))
    if (queue === undefined || nonce <= queue.base) return
    queue.base = nonce
    for (const pending of [...queue.byNonce.values()]) {
      if (pending.nonce <= nonce) this.#remove(pending)
    }
  }

  /**
   * After a block: the transactions it executed go, and each receipt that took a nonce moves
   * its sender on (the pool knows the sender of the transactions it held).
   */
  applyReceipts(receipts: readonly Receipt[]): void {
    for (const receipt of receipts) {
      if (receipt.digest === undefined) continue
      const pending = this.get(receipt.digest)
      if (pending === undefined) continue
      this.#remove(pending)
      if (receipt.nonceTaken) this.nonceTaken(pending.sender, pending.nonce)
    }
  }

  #remove(pending: PendingTransaction): void {
    const senderHex = bytesToHex(pending.sender)
    this.#byDigest.delete(bytesToHex(pending.digest))
    this.#bytes -= pending.bytes.length
    const queue = this.#senders.get(senderHex)
    if (queue === undefined) return
    queue.byNonce.delete(pending.nonce)
    // An empty queue goes: the next admission reads the sender's nonce from the state again.
    if (queue.byNonce.size === 0) this.#senders.delete(senderHex)
  }
}

function positive(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`mempool ${what} must be a positive integer, got ${value}`)
  }
  return value
}

/** A binary min-heap of pending transactions by arrival. */
class ArrivalHeap {
  readonly #items: PendingTransaction[] = []

  push(item: PendingTransaction): void {
    const items = this.#items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.arrival <= item.arrival) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = item
  }

  pop(): PendingTransaction | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child =
        right < items.length && items[right]!.arrival < items[left]!.arrival ? right : left
      if (items[child]!.arrival >= last.arrival) break
      items[i] = items[child]!
      i = child
    }
    items[i] = last
    return top
  }
}
