/**
 * The page's view of the chain (issue 15): the HTTP routes every node serves under `/chain/`
 * (docs/protocol.md "Chain"), state entries checked against their proofs, and the demo
 * account's registration of this browser's client key, so that what the page acknowledges is
 * paid for on chain when the nodes settle their claims.
 *
 * The proofs are checked here (verifyStateProof over the entry's bytes, against the root the
 * node named, which must be the state root of a block header it served at that height). That
 * trusts the node for the header itself: here "verified" means "the entry is the one the served
 * root commits to", not "the chain agreed on that root". The light client panel
 * (sections/light.ts) is the check against the committee: signed checkpoints from the genesis,
 * and node records proven at the root they sign.
 *
 * DEVNET ONLY: the demo account's secp256k1 secret key comes to the page in
 * /fulmen-network.json, so anyone who can load the page can spend the account. That is what a
 * throwaway local chain is for; a real deployment has the user's wallet sign instead.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { equalBytes } from '../src/core/bytes.ts'
import type { AccountEntry, TableName, TransactionPayload } from '../src/state/model.ts'
import { verifyStateProof } from '../src/state/state-proof.ts'
import { decodeEntry, parseTableKey, type TableEntries } from '../src/state/tables.ts'
import { encodeTransaction, signAccountTransaction } from '../src/state/transaction.ts'

/** `chain` in /fulmen-network.json: where the page reads and writes the chain. */
export interface ChainInfo {
  /** A node's gateway that orders blocks (any node answers reads; followers forward writes). */
  readonly gateway: string
  readonly chainId: number
  /** A devnet account funded in the genesis; its secret is given to the page (devnet only). */
  readonly demoAccount: { readonly address: string; readonly secretKey: string }
}

/** `GET /chain/head`. */
export interface ChainHead {
  readonly chainId: number
  readonly epoch: number
  readonly height: number
  readonly hash: string
  readonly stateRoot: string
  readonly timestampMs: number
  /** How the answering node orders (absent from a node before these fields). */
  readonly consensus?: 'solo' | 'follow' | 'committee'
  /** The head epoch's committee, node keys hex, in committee order. */
  readonly committee?: readonly string[]
  /** A committee node's index in the committee it orders for (-1: outside it). */
  readonly member?: number
  /** A committee node's DAG round and last committed leader round. */
  readonly round?: number
  readonly committedRound?: number
}

/** A head and the gateway that answered it: the node the page talks to. */
export interface HeadFrom {
  readonly head: ChainHead
  readonly gateway: string
}

interface StateAnswer {
  readonly table: string
  readonly key: string
  readonly height: number
  readonly root: string
  readonly value: string | null
  readonly proof: string
}

/** blockToJson's events, as the page reads them. */
export type ChainEventJson =
  | { type: 'ClaimSettled'; node: string; clientKey: string; units: number; paid: string }
  | { type: 'ClaimRejected'; index: number; reason: string }
  | { type: 'EpochChanged'; epoch: number }
  | { type: 'Reward'; node: string; flk: string; stables: string }
  | { type: 'Slashed'; node: string; amount: string }

export interface ReceiptJson {
  readonly digest?: string
  readonly status: string
  readonly message?: string
  readonly events: readonly ChainEventJson[]
}

export interface BlockJson {
  readonly hash: string
  readonly header: { readonly height: number; readonly epoch: number; readonly stateRoot: string }
  /** Each transaction's encoded bytes, hex (`decodeTransaction`); receipts[i] is of the i-th. */
  readonly transactions: readonly string[]
  readonly receipts: readonly ReceiptJson[]
}

/** An entry read from a node: its value decoded from the bytes the proof covers. */
export interface ProvenEntry<T> {
  readonly value: T | undefined
  /** The proof holds against `root`, and `root` is the state root of block `height`. */
  readonly verified: boolean
  readonly height: number
  readonly root: string
}

/** A refusal a node answered (`{"error":{"code","message"}}`), or a network failure. */
export class ChainRequestError extends Error {
  override readonly name = 'ChainRequestError'
  readonly code: string
  readonly status: number

  constructor(code: string, message: string, status: number) {
    super(message)
    this.code = code
    this.status = status
  }
}

const MAX_IN_FLIGHT = 2

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Requests to the chain, through `gateways()` in order: the first that answers at all answers
 * (a stopped node fails at the socket, the next one is asked). A node's refusal is final.
 */
export class ChainHttp {
  private readonly gateways: () => readonly string[]
  /** State roots of the headers seen, by height: what a proof's root is checked against. */
  private readonly roots = new Map<number, string>()

  /** Requests in flight, at most MAX_IN_FLIGHT: a browser opens 6 connections per origin, and
   * the page's downloads and discovery share the nodes' origins with this panel (with up to 14
   * requests at once, a tab's download in the e2e failed over to a full node 2 times in 4). */
  private inFlight = 0
  private readonly waiting: (() => void)[] = []

  constructor(gateways: () => readonly string[]) {
    this.gateways = gateways
  }

  private async request<T>(path: string, init?: RequestInit): Promise<T> {
    return (await this.requestFrom<T>(path, init)).body
  }

  /** The answer and the gateway that gave it. */
  private async requestFrom<T>(
    path: string,
    init?: RequestInit,
  ): Promise<{ body: T; gateway: string }> {
    while (this.inFlight >= MAX_IN_FLIGHT) await new Promise<void>((go) => this.waiting.push(go))
    this.inFlight++
    try {
      return await this.requestNow<T>(path, init)
    } finally {
      this.inFlight--
      this.waiting.shift()?.()
    }
  }

  private async requestNow<T>(
    path: string,
    init?: RequestInit,
  ): Promise<{ body: T; gateway: string }> {
    let lastError: unknown = new ChainRequestError('CHAIN_NO_GATEWAY', 'no node to ask', 0)
    for (const gateway of this.gateways()) {
      let response: Response
      try {
        response = await fetch(`${gateway}${path}`, {
          cache: 'no-store',
          signal: AbortSignal.timeout(5_000),
          ...init,
        })
      } catch (error) {
        lastError = error
        continue
      }
      const text = await response.text()
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        throw new ChainRequestError('CHAIN_BAD_ANSWER', `${path}: ${text.slice(0, 120)}`, 0)
      }
      if (!response.ok) {
        const error = (body as { error?: { code?: string; message?: string } }).error
        throw new ChainRequestError(
          error?.code ?? `HTTP_${response.status}`,
          error?.message ?? `${path}: HTTP ${response.status}`,
          response.status,
        )
      }
      return { body: body as T, gateway }
    }
    throw lastError
  }

  async head(): Promise<ChainHead> {
    return (await this.headFrom()).head
  }

  /** The head, and which gateway answered (the first running one). */
  async headFrom(): Promise<HeadFrom> {
    const { body: head, gateway } = await this.requestFrom<ChainHead>('/chain/head')
    this.roots.set(head.height, head.stateRoot)
    return { head, gateway }
  }

  async block(height: number): Promise<BlockJson> {
    const block = await this.request<BlockJson>(`/chain/block/${height}`)
    this.roots.set(block.header.height, block.header.stateRoot)
    return block
  }

  transaction(digest: string): Promise<ReceiptJson & { height?: number }> {
    return this.request(`/chain/tx/${digest}`)
  }

  async submit(bytes: Uint8Array): Promise<string> {
    const answer = await this.request<{ digest: string }>('/chain/tx', {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: bytes as Uint8Array<ArrayBuffer>,
    })
    return answer.digest
  }

  /** The state root of block `height`, from a header this node served (fetched if unseen). */
  private async rootAt(height: number): Promise<string | undefined> {
    const known = this.roots.get(height)
    if (known !== undefined) return known
    // Height 0 is the genesis state: no block carries it, and no proof is anchored to it here.
    if (height === 0) return undefined
    return (await this.block(height)).header.stateRoot
  }

  /**
   * `GET /chain/state/<table>/<key>`, the entry decoded from the value bytes, and whether the
   * proof proves exactly that (or the absence) under the root of the block the node named.
   */
  async entry<T extends TableName>(
    table: T,
    keyText: string,
  ): Promise<ProvenEntry<TableEntries[T]>> {
    const key = parseTableKey(table, keyText)
    const answer = await this.request<StateAnswer>(
      `/chain/state/${table}/${encodeURIComponent(keyText)}`,
    )
    const bytes = answer.value === null ? undefined : hexToBytes(answer.value)
    const sameKey = equalBytes(hexToBytes(answer.key), key)
    const proved =
      sameKey &&
      verifyStateProof(hexToBytes(answer.root), table, key, bytes, hexToBytes(answer.proof))
    const anchored = proved && (await this.rootAt(answer.height)) === answer.root
    // An entry that fails its proof is not read: it could say anything.
    return {
      value: bytes === undefined || !proved ? undefined : decodeEntry(table, bytes),
      verified: anchored,
      height: answer.height,
      root: answer.root,
    }
  }
}

/** `0x…` for an address's bytes. */
export function addressText(bytes: Uint8Array): string {
  return `0x${bytesToHex(bytes)}`
}

export type RegistrationStep =
  | { readonly state: 'checking' }
  | { readonly state: 'registered'; readonly already: boolean }
  | { readonly state: 'submitted'; readonly digest: string }
  | { readonly state: 'failed'; readonly message: string }

/**
 * Binds `clientKey` to the demo account: `RegisterClientKey` signed with the account's key
 * (EIP-191, as a wallet would), submitted, and waited for. Idempotent: a key already bound to
 * the account is left alone (no transaction), and a reload registers nothing new. A nonce taken
 * meanwhile (another tab of the page registering too) is read again and retried.
 */
export async function registerClientKey(
  chain: ChainHttp,
  info: ChainInfo,
  clientKey: Uint8Array,
  onStep: (step: RegistrationStep) => void = () => {},
): Promise<void> {
  const secretKey = hexToBytes(info.demoAccount.secretKey.replace(/^0x/, ''))
  const address = hexToBytes(info.demoAccount.address.replace(/^0x/, ''))
  const keyHex = bytesToHex(clientKey)
  onStep({ state: 'checking' })
  for (let attempt = 0; ; attempt++) {
    const held = await chain.entry('clientKeys', keyHex)
    if (held.value !== undefined && equalBytes(held.value.account, address)) {
      onStep({ state: 'registered', already: attempt === 0 })
      return
    }
    if (held.value !== undefined) {
      throw new ChainRequestError(
        'TX_CLIENT_KEY_TAKEN',
        `the client key is registered to ${addressText(held.value.account)}`,
        0,
      )
    }
    const account = (await chain.entry('accounts', info.demoAccount.address)).value as
      | AccountEntry
      | undefined
    const payload: TransactionPayload = {
      chainId: info.chainId,
      sender: { kind: 'account', address },
      nonce: (account?.nonce ?? 0) + 1,
      method: { type: 'RegisterClientKey', clientKey },
    }
    const bytes = encodeTransaction(signAccountTransaction(payload, secretKey))
    let digest: string
    try {
      digest = await chain.submit(bytes)
    } catch (error) {
      // Someone else took this nonce (another tab): read the state again.
      const code = (error as { code?: string }).code ?? ''
      if (attempt < 5 && /^(TX_NONCE|MEMPOOL_DUPLICATE|MEMPOOL_NONCE_GAP)$/.test(code)) {
        await sleep(500 + 500 * attempt)
        continue
      }
      throw error
    }
    onStep({ state: 'submitted', digest })
    const receipt = await waitForReceipt(chain, digest)
    if (receipt.status === 'ok') continue // read back: registered, proof and all
    if (receipt.status === 'TX_NONCE' && attempt < 5) continue
    throw new ChainRequestError(receipt.status, receipt.message ?? receipt.status, 0)
  }
}

/** Polls `GET /chain/tx/<digest>` until the transaction is in a block (60 s at most). */
export async function waitForReceipt(
  chain: ChainHttp,
  digest: string,
  timeoutMs = 60_000,
): Promise<ReceiptJson> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const answer = await chain.transaction(digest)
      if (answer.status !== 'pending') return answer
    } catch (error) {
      // Not seen yet by the node asked (a follower before the block reaches it): ask again.
      if ((error as { code?: string }).code !== 'CHAIN_TX_UNKNOWN') throw error
    }
    if (Date.now() > deadline)
      throw new ChainRequestError('CHAIN_TX_TIMEOUT', `${digest} not in a block yet`, 0)
    await sleep(500)
  }
}

/** An amount of 18 decimals for people: `1,000.0625`, at most `decimals` after the point. */
export function formatAmount(amount: bigint, decimals = 6): string {
  const negative = amount < 0n
  const abs = negative ? -amount : amount
  const whole = abs / 10n ** 18n
  const fraction = (abs % 10n ** 18n).toString().padStart(18, '0').slice(0, decimals)
  const trimmed = fraction.replace(/0+$/, '')
  const text = `${whole.toLocaleString('en-US')}${trimmed === '' ? '' : `.${trimmed}`}`
  // A non-zero amount too small for `decimals` digits is not shown as zero.
  if (abs > 0n && whole === 0n && trimmed === '')
    return `${negative ? '−' : ''}<0.${'0'.repeat(decimals - 1)}1`
  return negative ? `−${text}` : text
}
