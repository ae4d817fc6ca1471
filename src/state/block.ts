/**
 * Blocks and receipts: their canonical encodings, the roots a header commits to and the hash
 * that names a block. A header commits to its body by `transactionsRoot` (BLAKE3 derive-key over
 * the BLAKE3 hash of each transaction's bytes, in order), to its outcome by `receiptsRoot` (the
 * same over each encoded receipt) and `stateRoot` (the state tree's root after it).
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { deriveKey, hash } from '../b3/hash.ts'
import { type CborRecord, encodeAmount, encodeCanonical, RecordReader } from './cbor-shape.ts'
import { StateError } from './errors.ts'
import type { BlockBody, BlockHeader, ChainEvent, Digest, ExecutedBlock, Receipt } from './model.ts'

const HEADER_CONTEXT = 'fulmen 2026 block header'
const TRANSACTIONS_CONTEXT = 'fulmen 2026 block transactions'
const RECEIPTS_CONTEXT = 'fulmen 2026 block receipts'

function listRoot(context: string, items: readonly Uint8Array[]): Digest {
  const material = new Uint8Array(items.length * 32)
  for (let i = 0; i < items.length; i++) material.set(hash(items[i] as Uint8Array), i * 32)
  return deriveKey(context, material)
}

export function transactionsRoot(transactions: readonly Uint8Array[]): Digest {
  return listRoot(TRANSACTIONS_CONTEXT, transactions)
}

export function receiptsRoot(receipts: readonly Receipt[]): Digest {
  return listRoot(RECEIPTS_CONTEXT, receipts.map(encodeReceipt))
}

function headerRecord(h: BlockHeader): CborRecord {
  return {
    chainId: h.chainId,
    height: h.height,
    parent: h.parent,
    timestampMs: h.timestampMs,
    epoch: h.epoch,
    transactionsRoot: h.transactionsRoot,
    receiptsRoot: h.receiptsRoot,
    stateRoot: h.stateRoot,
  }
}

export function encodeHeader(h: BlockHeader): Uint8Array {
  return encodeCanonical(headerRecord(h))
}

export function blockHash(h: BlockHeader): Digest {
  return deriveKey(HEADER_CONTEXT, encodeHeader(h))
}

/** The executed block of `body`: its header over the roots, and the hash of that header. */
export function executedBlockOf(
  body: BlockBody,
  receipts: readonly Receipt[],
  epoch: number,
  stateRoot: Digest,
): ExecutedBlock {
  const header: BlockHeader = {
    chainId: body.chainId,
    height: body.height,
    parent: body.parent,
    timestampMs: body.timestampMs,
    epoch,
    transactionsRoot: transactionsRoot(body.transactions),
    receiptsRoot: receiptsRoot(receipts),
    stateRoot,
  }
  return { header, hash: blockHash(header), body, receipts }
}

function eventRecord(e: ChainEvent): CborRecord {
  switch (e.type) {
    case 'ClaimSettled':
      return { ...e, paid: encodeAmount(e.paid) }
    case 'Reward':
      return { ...e, flk: encodeAmount(e.flk), stables: encodeAmount(e.stables) }
    case 'Slashed':
      return { ...e, amount: encodeAmount(e.amount) }
    default:
      return { ...e }
  }
}

function receiptRecord(r: Receipt): CborRecord {
  const out: Record<string, unknown> = { status: r.status, nonceTaken: r.nonceTaken }
  if (r.digest !== undefined) out.digest = r.digest
  if (r.message !== undefined) out.message = r.message
  if (r.events !== undefined && r.events.length > 0) out.events = r.events.map(eventRecord)
  return out
}

export function encodeReceipt(r: Receipt): Uint8Array {
  return encodeCanonical(receiptRecord(r))
}

/** A block as the executor stores it (trusted bytes: only this node wrote them). */
export function encodeExecutedBlock(b: ExecutedBlock): Uint8Array {
  return encodeCanonical({
    header: headerRecord(b.header),
    transactions: [...b.body.transactions],
    receipts: b.receipts.map(receiptRecord),
  })
}

function corrupt(message: string): StateError {
  return new StateError('STATE_CORRUPT', message)
}

function readEvent(v: unknown): ChainEvent {
  const r = new RecordReader(v as CborRecord, 'an event', corrupt)
  const type = r.string('type', 32)
  switch (type) {
    case 'ClaimSettled':
      return {
        type,
        node: r.bytes('node'),
        clientKey: r.bytes('clientKey'),
        units: r.uint('units'),
        paid: r.amount('paid'),
      }
    case 'ClaimRejected':
      return { type, index: r.uint('index'), reason: r.string('reason') }
    case 'EpochChanged':
      return { type, epoch: r.uint('epoch') }
    case 'Reward':
      return { type, node: r.bytes('node'), flk: r.amount('flk'), stables: r.amount('stables') }
    case 'Slashed':
      return { type, node: r.bytes('node'), amount: r.amount('amount') }
    default:
      throw corrupt(`an event of unknown type ${type}`)
  }
}

function readReceipt(v: unknown): Receipt {
  const r = new RecordReader(v as CborRecord, 'a receipt', corrupt)
  const receipt: Receipt = {
    status: r.string('status', 64) as Receipt['status'],
    nonceTaken: r.boolean('nonceTaken'),
    ...(r.has('digest') ? { digest: r.bytes('digest', 32) } : {}),
    ...(r.has('message') ? { message: r.string('message', 4096) } : {}),
    ...(r.has('events') ? { events: r.array('events', 1_000_000, readEvent) } : {}),
  }
  r.done()
  return receipt
}

export function decodeExecutedBlock(bytes: Uint8Array): ExecutedBlock {
  const r = RecordReader.decode(bytes, 'a stored block', corrupt)
  const h = r.record('header')
  const header: BlockHeader = {
    chainId: h.uint('chainId'),
    height: h.uint('height'),
    parent: h.bytes('parent', 32),
    timestampMs: h.uint('timestampMs'),
    epoch: h.uint('epoch'),
    transactionsRoot: h.bytes('transactionsRoot', 32),
    receiptsRoot: h.bytes('receiptsRoot', 32),
    stateRoot: h.bytes('stateRoot', 32),
  }
  h.done()
  const transactions = r.array('transactions', 1_000_000, (v) => {
    if (!(v instanceof Uint8Array)) throw corrupt('a stored transaction is not bytes')
    return v
  })
  const receipts = r.array('receipts', 1_000_000, readReceipt)
  r.done()
  return {
    header,
    hash: blockHash(header),
    body: {
      chainId: header.chainId,
      height: header.height,
      parent: header.parent,
      timestampMs: header.timestampMs,
      transactions,
    },
    receipts,
  }
}

// --- JSON (HTTP routes, CLI) ------------------------------------------------------------------

const hex = (b: Uint8Array) => bytesToHex(b)

export function eventToJson(e: ChainEvent): unknown {
  switch (e.type) {
    case 'ClaimSettled':
      return { ...e, node: hex(e.node), clientKey: hex(e.clientKey), paid: e.paid.toString() }
    case 'Reward':
      return { ...e, node: hex(e.node), flk: e.flk.toString(), stables: e.stables.toString() }
    case 'Slashed':
      return { ...e, node: hex(e.node), amount: e.amount.toString() }
    default:
      return e
  }
}

export function receiptToJson(r: Receipt): Record<string, unknown> {
  return {
    ...(r.digest === undefined ? {} : { digest: hex(r.digest) }),
    status: r.status,
    ...(r.message === undefined ? {} : { message: r.message }),
    nonceTaken: r.nonceTaken,
    events: (r.events ?? []).map(eventToJson),
  }
}

export function headerToJson(h: BlockHeader): Record<string, unknown> {
  return {
    chainId: h.chainId,
    height: h.height,
    parent: hex(h.parent),
    timestampMs: h.timestampMs,
    epoch: h.epoch,
    transactionsRoot: hex(h.transactionsRoot),
    receiptsRoot: hex(h.receiptsRoot),
    stateRoot: hex(h.stateRoot),
  }
}

/** `GET /chain/block/<height>`: the header, its hash, the transactions (hex) and receipts. */
export function blockToJson(b: ExecutedBlock): Record<string, unknown> {
  return {
    hash: hex(b.hash),
    header: headerToJson(b.header),
    transactions: b.body.transactions.map(hex),
    receipts: b.receipts.map(receiptToJson),
  }
}

/** The body of a block as `blockToJson` shows it (a follower re-executes it). */
export function bodyFromJson(json: unknown): BlockBody {
  const fail = (m: string) => new StateError('STATE_BLOCK_INVALID', `a block's JSON: ${m}`)
  const j = json as { header?: Record<string, unknown>; transactions?: unknown }
  const h = j?.header
  if (h === undefined || h === null || typeof h !== 'object') throw fail('no header')
  const int = (v: unknown, what: string) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw fail(`${what} is not an integer`)
    return v
  }
  if (typeof h.parent !== 'string' || !/^[0-9a-f]{64}$/.test(h.parent))
    throw fail('parent is not 32 bytes of hex')
  if (!Array.isArray(j.transactions)) throw fail('transactions is not an array')
  return {
    chainId: int(h.chainId, 'chainId'),
    height: int(h.height, 'height'),
    parent: hexToBytes(h.parent),
    timestampMs: int(h.timestampMs, 'timestampMs'),
    transactions: j.transactions.map((t, i) => {
      if (typeof t !== 'string' || !/^([0-9a-f]{2})*$/.test(t))
        throw fail(`transactions[${i}] is not hex`)
      return hexToBytes(t)
    }),
  }
}
