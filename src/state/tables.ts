/**
 * The chain state's tables (DESIGN.md "Application state"): how each table's keys are built and
 * how its entries are encoded (canonical DAG-CBOR maps, see cbor-shape.ts), decoded and shown as
 * JSON. The state tree stores (table, key) → entry bytes; this file is the only place that knows
 * what those bytes mean.
 *
 *   metadata     "chain"                                   ChainMetadata
 *   accounts     address (20)                               AccountEntry
 *   clientKeys   client key (32)                            ClientKeyEntry
 *   nodes        node key (32)                              NodeEntry
 *   committees   epoch u64be                                CommitteeEntry
 *   params       parameter name (UTF-8)                     { value }
 *   served       node key ‖ epoch u64be ‖ commodity u8      ServedEntry
 *   epochTotals  epoch u64be                                EpochTotals
 *   measurements epoch u64be ‖ subject ‖ reporter           Measurements
 *   reputation   node key                                   { score, epoch }
 *   latencies    reporter ‖ subject                         { latencyUs, epoch }
 *   prices       commodity u8                               { price }
 *   content      content root (32) ‖ node key               { epoch }
 *   executed     transaction digest (32)                    { height, index }
 *   settled      client key ‖ session u64be ‖ seq u32be ‖ node key   SettledEntry
 */
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js'
import { type CborRecord, encodeAmount, encodeCanonical, RecordReader } from './cbor-shape.ts'
import { StateError } from './errors.ts'
import type {
  AccountEntry,
  BeaconPhase,
  ChainMetadata,
  ClientKeyEntry,
  CommitteeEntry,
  EpochTotals,
  Measurements,
  NodeEntry,
  Participation,
  ProtocolParam,
  ServedEntry,
  SettledEntry,
  TableName,
} from './model.ts'
import {
  ADDRESS_LEN,
  BLS_KEY_LEN,
  CLIENT_KEY_LEN,
  DIGEST_LEN,
  MEASUREMENT_FIELDS,
  NODE_KEY_LEN,
} from './model.ts'

export const TABLES: readonly TableName[] = [
  'metadata',
  'accounts',
  'clientKeys',
  'nodes',
  'committees',
  'params',
  'served',
  'epochTotals',
  'measurements',
  'reputation',
  'latencies',
  'prices',
  'content',
  'executed',
  'settled',
]

export const METADATA_KEY: Uint8Array = new TextEncoder().encode('chain')

export interface ParamEntry {
  readonly value: bigint
}
export interface ReputationEntry {
  readonly score: number
  readonly epoch: number
}
export interface LatencyEntry {
  readonly latencyUs: number
  readonly epoch: number
}
export interface PriceEntry {
  readonly price: bigint
}
export interface ContentEntry {
  readonly epoch: number
}
export interface ExecutedEntry {
  readonly height: number
  readonly index: number
}

/** What each table holds. */
export interface TableEntries {
  metadata: ChainMetadata
  accounts: AccountEntry
  clientKeys: ClientKeyEntry
  nodes: NodeEntry
  committees: CommitteeEntry
  params: ParamEntry
  served: ServedEntry
  epochTotals: EpochTotals
  measurements: Measurements
  reputation: ReputationEntry
  latencies: LatencyEntry
  prices: PriceEntry
  content: ContentEntry
  executed: ExecutedEntry
  settled: SettledEntry
}

function corrupt(message: string): StateError {
  return new StateError('STATE_CORRUPT', message)
}

// --- keys -----------------------------------------------------------------------------------

export function u64be(value: number | bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(value))
  return out
}

export const tableKeys = {
  committee: (epoch: number) => u64be(epoch),
  param: (name: ProtocolParam) => new TextEncoder().encode(name),
  served: (node: Uint8Array, epoch: number, commodity: number) =>
    concatBytes(node, u64be(epoch), Uint8Array.of(commodity)),
  epochTotals: (epoch: number) => u64be(epoch),
  measurement: (epoch: number, subject: Uint8Array, reporter: Uint8Array) =>
    concatBytes(u64be(epoch), subject, reporter),
  latency: (reporter: Uint8Array, subject: Uint8Array) => concatBytes(reporter, subject),
  price: (commodity: number) => Uint8Array.of(commodity),
  content: (root: Uint8Array, node: Uint8Array) => concatBytes(root, node),
  settled: (clientKey: Uint8Array, session: bigint, seq: number, node: Uint8Array) => {
    const seqBytes = new Uint8Array(4)
    new DataView(seqBytes.buffer).setUint32(0, seq)
    return concatBytes(clientKey, u64be(session), seqBytes, node)
  },
}

// --- entries --------------------------------------------------------------------------------

interface EntryCodec<T> {
  encode(value: T): CborRecord
  read(r: RecordReader): T
  json(value: T): unknown
}

const hex = (b: Uint8Array) => bytesToHex(b)
const address = (b: Uint8Array) => `0x${bytesToHex(b)}`

function bytesItem(r: RecordReader, length: number) {
  return (v: unknown) => {
    if (!(v instanceof Uint8Array) || v.length !== length)
      throw r.fail(`holds a key that is not ${length} bytes`)
    return v
  }
}

function beaconOf(r: RecordReader): BeaconPhase {
  const kind = r.string('kind', 8)
  if (kind === 'none') return { kind }
  if (kind === 'commit' || kind === 'reveal') {
    return { kind, round: r.uint('round'), startHeight: r.uint('startHeight') }
  }
  throw r.fail(`has an unknown beacon phase ${kind}`)
}

const metadata: EntryCodec<ChainMetadata> = {
  encode: (m) => ({
    chainId: m.chainId,
    epoch: m.epoch,
    height: m.height,
    epochStartMs: m.epochStartMs,
    beacon: m.beacon,
    bridge: m.bridge,
    governance: m.governance,
    supplyYearStart: encodeAmount(m.supplyYearStart),
    supply: encodeAmount(m.supply),
  }),
  read: (r) => {
    const beacon = r.record('beacon')
    const m: ChainMetadata = {
      chainId: r.uint('chainId'),
      epoch: r.uint('epoch'),
      height: r.uint('height'),
      epochStartMs: r.uint('epochStartMs'),
      beacon: beaconOf(beacon),
      bridge: r.bytes('bridge', ADDRESS_LEN),
      governance: r.bytes('governance', ADDRESS_LEN),
      supplyYearStart: r.amount('supplyYearStart'),
      supply: r.amount('supply'),
    }
    beacon.done()
    return m
  },
  json: (m) => ({
    ...m,
    bridge: address(m.bridge),
    governance: address(m.governance),
    supplyYearStart: m.supplyYearStart.toString(),
    supply: m.supply.toString(),
  }),
}

const accounts: EntryCodec<AccountEntry> = {
  encode: (a) => ({ flk: encodeAmount(a.flk), stables: encodeAmount(a.stables), nonce: a.nonce }),
  read: (r) => ({ flk: r.amount('flk'), stables: r.amount('stables'), nonce: r.uint('nonce') }),
  json: (a) => ({ flk: a.flk.toString(), stables: a.stables.toString(), nonce: a.nonce }),
}

const clientKeys: EntryCodec<ClientKeyEntry> = {
  encode: (c) => ({ account: c.account }),
  read: (r) => ({ account: r.bytes('account', ADDRESS_LEN) }),
  json: (c) => ({ account: address(c.account) }),
}

const PARTICIPATION: readonly Participation[] = ['true', 'false', 'optedIn', 'optedOut']

const nodes: EntryCodec<NodeEntry> = {
  encode: (n) => ({
    owner: n.owner,
    blsKey: n.blsKey,
    addresses: [...n.addresses],
    staked: encodeAmount(n.staked),
    unstaking: n.unstaking.map((u) => ({
      amount: encodeAmount(u.amount),
      unlocksAtEpoch: u.unlocksAtEpoch,
    })),
    lockedUntilEpoch: n.lockedUntilEpoch,
    participation: n.participation,
    nonce: n.nonce,
    registeredAtEpoch: n.registeredAtEpoch,
  }),
  read: (r) => {
    const participation = r.string('participation', 16) as Participation
    if (!PARTICIPATION.includes(participation)) throw r.fail(`has participation ${participation}`)
    return {
      owner: r.bytes('owner', ADDRESS_LEN),
      blsKey: r.bytes('blsKey', BLS_KEY_LEN),
      addresses: r.array('addresses', 64, (v) => {
        if (typeof v !== 'string') throw r.fail('has an address that is not a string')
        return v
      }),
      staked: r.amount('staked'),
      unstaking: r.array('unstaking', 1024, (v) => {
        const u = new RecordReader(v as CborRecord, 'an unstaking entry', (m) => corrupt(m))
        const out = { amount: u.amount('amount'), unlocksAtEpoch: u.uint('unlocksAtEpoch') }
        u.done()
        return out
      }),
      lockedUntilEpoch: r.uint('lockedUntilEpoch'),
      participation,
      nonce: r.uint('nonce'),
      registeredAtEpoch: r.uint('registeredAtEpoch'),
    }
  },
  json: (n) => ({
    ...n,
    owner: address(n.owner),
    blsKey: hex(n.blsKey),
    staked: n.staked.toString(),
    unstaking: n.unstaking.map((u) => ({ ...u, amount: u.amount.toString() })),
  }),
}

const committees: EntryCodec<CommitteeEntry> = {
  encode: (c) => ({
    members: [...c.members],
    readyToChange: [...c.readyToChange],
    activeNodes: [...c.activeNodes],
    beaconCommits: c.beaconCommits.map((x) => ({ node: x.node, commit: x.commit })),
    beaconReveals: c.beaconReveals.map((x) => ({ node: x.node, reveal: x.reveal })),
  }),
  read: (r) => {
    const pair = (field: 'commit' | 'reveal') => (v: unknown) => {
      const p = new RecordReader(v as CborRecord, `a beacon ${field}`, (m) => corrupt(m))
      const out = { node: p.bytes('node', NODE_KEY_LEN), [field]: p.bytes(field, DIGEST_LEN) }
      p.done()
      return out
    }
    return {
      members: r.array('members', 100_000, bytesItem(r, NODE_KEY_LEN)),
      readyToChange: r.array('readyToChange', 100_000, bytesItem(r, NODE_KEY_LEN)),
      activeNodes: r.array('activeNodes', 1_000_000, bytesItem(r, NODE_KEY_LEN)),
      beaconCommits: r.array('beaconCommits', 100_000, pair('commit')) as {
        node: Uint8Array
        commit: Uint8Array
      }[],
      beaconReveals: r.array('beaconReveals', 100_000, pair('reveal')) as {
        node: Uint8Array
        reveal: Uint8Array
      }[],
    }
  },
  json: (c) => ({
    members: c.members.map(hex),
    readyToChange: c.readyToChange.map(hex),
    activeNodes: c.activeNodes.map(hex),
    beaconCommits: c.beaconCommits.map((x) => ({ node: hex(x.node), commit: hex(x.commit) })),
    beaconReveals: c.beaconReveals.map((x) => ({ node: hex(x.node), reveal: hex(x.reveal) })),
  }),
}

const params: EntryCodec<ParamEntry> = {
  encode: (p) => ({ value: encodeAmount(p.value) }),
  read: (r) => ({ value: r.amount('value') }),
  json: (p) => ({ value: p.value.toString() }),
}

const served: EntryCodec<ServedEntry> = {
  encode: (s) => ({ units: encodeAmount(s.units), revenue: encodeAmount(s.revenue) }),
  read: (r) => ({ units: r.amount('units'), revenue: r.amount('revenue') }),
  json: (s) => ({ units: s.units.toString(), revenue: s.revenue.toString() }),
}

const epochTotals: EntryCodec<EpochTotals> = {
  encode: (t) => ({ served: t.served.map(encodeAmount), revenue: encodeAmount(t.revenue) }),
  read: (r) => ({
    served: r.array('served', 16, (v) => {
      if (!(v instanceof Uint8Array)) throw r.fail('served holds a non-amount')
      return new RecordReader({ v }, 'served', (m) => corrupt(m)).amount('v')
    }),
    revenue: r.amount('revenue'),
  }),
  json: (t) => ({ served: t.served.map(String), revenue: t.revenue.toString() }),
}

const measurements: EntryCodec<Measurements> = {
  encode: (m) => {
    const out: Record<string, number> = {}
    for (const f of MEASUREMENT_FIELDS) if (m[f] !== undefined) out[f] = m[f]
    return out
  },
  read: (r) => {
    const out: Record<string, number> = {}
    for (const f of MEASUREMENT_FIELDS) if (r.has(f)) out[f] = r.int(f)
    return out as Measurements
  },
  json: (m) => m,
}

const reputation: EntryCodec<ReputationEntry> = {
  encode: (e) => ({ score: e.score, epoch: e.epoch }),
  read: (r) => ({ score: r.uint('score', 100), epoch: r.uint('epoch') }),
  json: (e) => e,
}

const latencies: EntryCodec<LatencyEntry> = {
  encode: (e) => ({ latencyUs: e.latencyUs, epoch: e.epoch }),
  read: (r) => ({ latencyUs: r.uint('latencyUs'), epoch: r.uint('epoch') }),
  json: (e) => e,
}

const prices: EntryCodec<PriceEntry> = {
  encode: (p) => ({ price: encodeAmount(p.price) }),
  read: (r) => ({ price: r.amount('price') }),
  json: (p) => ({ price: p.price.toString() }),
}

const content: EntryCodec<ContentEntry> = {
  encode: (c) => ({ epoch: c.epoch }),
  read: (r) => ({ epoch: r.uint('epoch') }),
  json: (c) => c,
}

const executed: EntryCodec<ExecutedEntry> = {
  encode: (e) => ({ height: e.height, index: e.index }),
  read: (r) => ({ height: r.uint('height'), index: r.uint('index') }),
  json: (e) => e,
}

const settled: EntryCodec<SettledEntry> = {
  encode: (s) => ({ index: s.index }),
  read: (r) => ({ index: r.uint('index', 0xffff_ffff) }),
  json: (s) => s,
}

const CODECS: { readonly [T in TableName]: EntryCodec<TableEntries[T]> } = {
  metadata,
  accounts,
  clientKeys,
  nodes,
  committees,
  params,
  served,
  epochTotals,
  measurements,
  reputation,
  latencies,
  prices,
  content,
  executed,
  settled,
}

export function isTableName(name: string): name is TableName {
  return (TABLES as readonly string[]).includes(name)
}

export function encodeEntry<T extends TableName>(table: T, value: TableEntries[T]): Uint8Array {
  return encodeCanonical(CODECS[table].encode(value))
}

/** Decodes an entry read from the state; STATE_CORRUPT when the bytes are not one. */
export function decodeEntry<T extends TableName>(table: T, bytes: Uint8Array): TableEntries[T] {
  const r = RecordReader.decode(bytes, `a ${table} entry`, (m) => corrupt(m))
  const value = CODECS[table].read(r)
  r.done()
  return value
}

/** An entry for people and JSON APIs: amounts as decimal strings, bytes as hex. */
export function entryToJson(table: TableName, bytes: Uint8Array): unknown {
  const codec = CODECS[table] as EntryCodec<unknown>
  return codec.json(decodeEntry(table, bytes))
}

// --- keys as people write them (HTTP routes, CLI) --------------------------------------------

function hexKey(text: string, length: number | undefined, what: string): Uint8Array {
  const body = text.startsWith('0x') ? text.slice(2) : text
  if (!/^([0-9a-fA-F]{2})*$/.test(body) || (length !== undefined && body.length !== 2 * length)) {
    throw new StateError(
      'STATE_INVALID_ARGUMENT',
      `${what} is ${length === undefined ? '' : `${length} bytes `}in hex, got ${JSON.stringify(text.slice(0, 80))}`,
    )
  }
  return hexToBytes(body.toLowerCase())
}

function epochKey(text: string): Uint8Array {
  if (!/^\d{1,15}$/.test(text)) {
    throw new StateError(
      'STATE_INVALID_ARGUMENT',
      `an epoch is a number, got ${JSON.stringify(text.slice(0, 80))}`,
    )
  }
  return u64be(Number(text))
}

/**
 * A table key as `GET /chain/state/<table>/<key>` and `fulmen state` take it: `chain` for
 * metadata, a 0x address for accounts, hex keys for nodes and client keys, an epoch number for
 * committees and epochTotals, a parameter name for params, a commodity number for prices, and
 * hex of the whole key otherwise. STATE_INVALID_ARGUMENT for anything else.
 */
export function parseTableKey(table: TableName, text: string): Uint8Array {
  switch (table) {
    case 'metadata':
      if (text !== 'chain')
        throw new StateError('STATE_INVALID_ARGUMENT', 'the metadata key is "chain"')
      return METADATA_KEY
    case 'accounts':
      return hexKey(text, ADDRESS_LEN, 'an account address')
    case 'clientKeys':
      return hexKey(text, CLIENT_KEY_LEN, 'a client key')
    case 'nodes':
    case 'reputation':
      return hexKey(text, NODE_KEY_LEN, 'a node key')
    case 'committees':
    case 'epochTotals':
      return epochKey(text)
    case 'params':
      if (!/^[a-zA-Z]{1,40}$/.test(text))
        throw new StateError('STATE_INVALID_ARGUMENT', 'a parameter name')
      return new TextEncoder().encode(text)
    case 'prices':
      if (text !== '0' && text !== '1')
        throw new StateError('STATE_INVALID_ARGUMENT', 'a commodity is 0 or 1')
      return Uint8Array.of(Number(text))
    case 'executed':
      return hexKey(text, DIGEST_LEN, 'a transaction digest')
    default:
      return hexKey(text, undefined, `a ${table} key`)
  }
}
