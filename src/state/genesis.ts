/**
 * The genesis file: the chain's first state, as JSON people can read and edit. Byte fields are
 * hex (addresses with 0x), amounts decimal strings of the 18-decimal base unit, parameters by
 * name (every ProtocolParam required). Its hash, BLAKE3 derive-key "fulmen 2026 genesis" over
 * the canonical DAG-CBOR of the parsed genesis, is the parent of block 1 and names the chain's
 * state in a store.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { deriveKey } from '../b3/hash.ts'
import { encodeAmount, encodeCanonical } from './cbor-shape.ts'
import { StateError } from './errors.ts'
import {
  ADDRESS_LEN,
  BLS_KEY_LEN,
  type Digest,
  type Genesis,
  type GenesisNode,
  NODE_KEY_LEN,
  type ProtocolParam,
} from './model.ts'
import { DEFAULT_PARAMS, paramsProblem } from './params.ts'

const GENESIS_CONTEXT = 'fulmen 2026 genesis'
export const PARAM_NAMES = Object.keys(DEFAULT_PARAMS) as ProtocolParam[]

function invalid(message: string): StateError {
  return new StateError('STATE_GENESIS_INVALID', `genesis: ${message}`)
}

type Json = Record<string, unknown>

function object(v: unknown, what: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw invalid(`${what} is not an object`)
  return v as Json
}

function hexField(v: unknown, length: number, what: string): Uint8Array {
  if (typeof v !== 'string') throw invalid(`${what} is not a hex string`)
  const body = v.startsWith('0x') ? v.slice(2) : v
  if (body.length !== length * 2 || !/^[0-9a-fA-F]*$/.test(body)) {
    throw invalid(`${what} is not ${length} bytes of hex`)
  }
  return hexToBytes(body.toLowerCase())
}

function amountField(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !/^\d{1,78}$/.test(v)) {
    throw invalid(`${what} is not a decimal string of base units`)
  }
  return BigInt(v)
}

function intField(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw invalid(`${what} is not a non-negative integer`)
  }
  return v
}

function arrayField(v: unknown, what: string, max = 100_000): unknown[] {
  if (!Array.isArray(v) || v.length > max) throw invalid(`${what} is not an array (at most ${max})`)
  return v
}

const keyHex = (b: Uint8Array) => bytesToHex(b)

/** Checks what the parser cannot see field by field: shares, sizes, the committee. */
export function checkGenesis(g: Genesis): Genesis {
  const p = g.params
  for (const name of PARAM_NAMES) {
    if (typeof p[name] !== 'bigint' || p[name] < 0n) throw invalid(`params.${name} is missing`)
  }
  const problem = paramsProblem(p)
  if (problem !== undefined) throw invalid(`params: ${problem}`)
  if (g.prices.length !== 2) throw invalid('prices holds one price per commodity (2)')
  const seen = new Set<string>()
  for (const n of g.nodes) {
    const k = keyHex(n.key)
    if (seen.has(k)) throw invalid(`node ${k} is listed twice`)
    seen.add(k)
  }
  const accounts = new Set<string>()
  for (const a of g.accounts) {
    const k = keyHex(a.address)
    if (accounts.has(k)) throw invalid(`account 0x${k} is listed twice`)
    accounts.add(k)
  }
  if (g.committee.length === 0) throw invalid('the committee is empty')
  const members = new Set<string>()
  for (const m of g.committee) {
    const k = keyHex(m)
    if (!seen.has(k)) throw invalid(`committee member ${k} is not a genesis node`)
    if (members.has(k)) throw invalid(`committee member ${k} is listed twice`)
    members.add(k)
  }
  return g
}

export function parseGenesis(text: string): Genesis {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw invalid(`not JSON: ${(e as Error).message}`)
  }
  const j = object(raw, 'the file')
  const paramsJson = object(j.params, 'params')
  const params = {} as Record<ProtocolParam, bigint>
  for (const name of PARAM_NAMES) {
    if (!(name in paramsJson)) throw invalid(`params.${name} is missing`)
    params[name] = amountField(paramsJson[name], `params.${name}`)
  }
  for (const name of Object.keys(paramsJson)) {
    if (!PARAM_NAMES.includes(name as ProtocolParam))
      throw invalid(`params.${name} is not a parameter`)
  }
  const nodes: GenesisNode[] = arrayField(j.nodes, 'nodes').map((v, i) => {
    const n = object(v, `nodes[${i}]`)
    return {
      key: hexField(n.key, NODE_KEY_LEN, `nodes[${i}].key`),
      owner: hexField(n.owner, ADDRESS_LEN, `nodes[${i}].owner`),
      blsKey: hexField(n.blsKey, BLS_KEY_LEN, `nodes[${i}].blsKey`),
      addresses: arrayField(n.addresses, `nodes[${i}].addresses`, 16).map((a, k) => {
        if (typeof a !== 'string' || a.length > 256)
          throw invalid(`nodes[${i}].addresses[${k}] is not a string`)
        return a
      }),
      stake: amountField(n.stake, `nodes[${i}].stake`),
    }
  })
  const genesis: Genesis = {
    chainId: intField(j.chainId, 'chainId'),
    timestampMs: intField(j.timestampMs, 'timestampMs'),
    bridge: hexField(j.bridge, ADDRESS_LEN, 'bridge'),
    governance: hexField(j.governance, ADDRESS_LEN, 'governance'),
    params,
    prices: arrayField(j.prices, 'prices', 2).map((v, i) => amountField(v, `prices[${i}]`)),
    accounts: arrayField(j.accounts, 'accounts').map((v, i) => {
      const a = object(v, `accounts[${i}]`)
      return {
        address: hexField(a.address, ADDRESS_LEN, `accounts[${i}].address`),
        flk: amountField(a.flk ?? '0', `accounts[${i}].flk`),
        stables: amountField(a.stables ?? '0', `accounts[${i}].stables`),
      }
    }),
    nodes,
    committee: arrayField(j.committee, 'committee').map((v, i) =>
      hexField(v, NODE_KEY_LEN, `committee[${i}]`),
    ),
  }
  return checkGenesis(genesis)
}

/** The JSON of a genesis, as `parseGenesis` reads it (stable field order, 2-space indent). */
export function genesisToJson(g: Genesis): string {
  const params: Record<string, string> = {}
  for (const name of PARAM_NAMES) params[name] = g.params[name].toString()
  return `${JSON.stringify(
    {
      chainId: g.chainId,
      timestampMs: g.timestampMs,
      bridge: `0x${keyHex(g.bridge)}`,
      governance: `0x${keyHex(g.governance)}`,
      params,
      prices: g.prices.map(String),
      accounts: g.accounts.map((a) => ({
        address: `0x${keyHex(a.address)}`,
        flk: a.flk.toString(),
        stables: a.stables.toString(),
      })),
      nodes: g.nodes.map((n) => ({
        key: keyHex(n.key),
        owner: `0x${keyHex(n.owner)}`,
        blsKey: keyHex(n.blsKey),
        addresses: n.addresses,
        stake: n.stake.toString(),
      })),
      committee: g.committee.map(keyHex),
    },
    null,
    2,
  )}\n`
}

export function genesisHash(g: Genesis): Digest {
  const params: Record<string, Uint8Array> = {}
  for (const name of PARAM_NAMES) params[name] = encodeAmount(g.params[name])
  return deriveKey(
    GENESIS_CONTEXT,
    encodeCanonical({
      chainId: g.chainId,
      timestampMs: g.timestampMs,
      bridge: g.bridge,
      governance: g.governance,
      params,
      prices: g.prices.map(encodeAmount),
      accounts: g.accounts.map((a) => ({
        address: a.address,
        flk: encodeAmount(a.flk),
        stables: encodeAmount(a.stables),
      })),
      nodes: g.nodes.map((n) => ({
        key: n.key,
        owner: n.owner,
        blsKey: n.blsKey,
        addresses: [...n.addresses],
        stake: encodeAmount(n.stake),
      })),
      committee: [...g.committee],
    }),
  )
}
