/**
 * Chain keys on disk (Node): an account's secp256k1 secret key and a node's BLS secret key as
 * hex and a newline, a node's Ed25519 identity as libp2p's protobuf (what `identity.ts` reads
 * from `<dataDir>/identity.key`). Every file is mode 0600 and created exclusively: a key file
 * is never overwritten, since it may be the only copy of the key.
 */
import { mkdir, open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { FulmenError } from '../core/errors.ts'
import type { Address } from '../state/model.ts'
import { accountAddressOfSecretKey, makeBlsKey } from '../state/transaction.ts'

export type KeyFileErrorCode =
  /** A key file that does not hold a key of its kind (64 hex digits for an account or BLS
   * secret, a libp2p Ed25519 protobuf for a node identity), or holds an invalid scalar. */
  | 'KEY_FILE_INVALID'
  /** A key file a node needs to start (a committee node's BLS key) is not there. */
  | 'KEY_FILE_MISSING'

export class KeyFileError extends FulmenError<KeyFileErrorCode> {
  override readonly name = 'KeyFileError'
}

/** Writes `bytes` to a new file `path` (mode 0600); EEXIST when the file is there. */
export async function writeNewSecretFile(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const file = await open(path, 'wx', 0o600)
  try {
    await file.writeFile(bytes)
    await file.sync()
  } finally {
    await file.close()
  }
}

/** 32 bytes from a file of 64 hex digits (an optional 0x, surrounding whitespace allowed). */
async function readHexSecret(path: string, what: string): Promise<Uint8Array> {
  const text = (await readFile(path, 'utf8')).trim()
  const body = text.startsWith('0x') ? text.slice(2) : text
  if (!/^[0-9a-fA-F]{64}$/.test(body)) {
    throw new KeyFileError('KEY_FILE_INVALID', `${path} is not ${what} (expected 64 hex digits)`, {
      details: { path },
    })
  }
  return hexToBytes(body.toLowerCase())
}

// --- accounts (secp256k1) --------------------------------------------------------------------

export interface AccountKey {
  readonly secretKey: Uint8Array
  readonly address: Address
}

/** `0x` and the 40 hex digits of an address. */
export function formatAddress(address: Address): string {
  return `0x${bytesToHex(address)}`
}

export function accountKeyOf(secretKey: Uint8Array): AccountKey {
  return { secretKey, address: accountAddressOfSecretKey(secretKey) }
}

export function generateAccountKey(): AccountKey {
  return accountKeyOf(secp256k1.utils.randomSecretKey())
}

/** Writes a new account key file; refuses to overwrite one. */
export async function writeAccountKeyFile(path: string, key: AccountKey): Promise<void> {
  await writeNewSecretFile(path, `${bytesToHex(key.secretKey)}\n`)
}

/** The account key in `path`; KEY_FILE_INVALID when it holds none. */
export async function readAccountKeyFile(path: string): Promise<AccountKey> {
  const secretKey = await readHexSecret(path, 'an account key')
  if (!secp256k1.utils.isValidSecretKey(secretKey)) {
    throw new KeyFileError('KEY_FILE_INVALID', `${path} holds no valid secp256k1 secret key`, {
      details: { path },
    })
  }
  return accountKeyOf(secretKey)
}

// --- nodes (Ed25519 identity, BLS) ------------------------------------------------------------

export interface NodeIdentityKey {
  readonly privateKey: PrivateKey
  /** The 32-byte Ed25519 seed, what `signNodeTransaction` takes. */
  readonly seed: Uint8Array
  /** The 32-byte Ed25519 public key: the node key of the chain state. */
  readonly nodeKey: Uint8Array
  readonly peerId: string
}

function identityOf(privateKey: PrivateKey, path: string): NodeIdentityKey {
  if (privateKey.type !== 'Ed25519') {
    throw new KeyFileError('KEY_FILE_INVALID', `${path} is a ${privateKey.type} key, not Ed25519`)
  }
  return {
    privateKey,
    // libp2p's raw Ed25519 private key is seed ‖ public key.
    seed: privateKey.raw.slice(0, 32),
    nodeKey: privateKey.publicKey.raw.slice(),
    peerId: peerIdFromPrivateKey(privateKey).toString(),
  }
}

export async function generateNodeIdentity(): Promise<NodeIdentityKey> {
  return identityOf(await generateKeyPair('Ed25519'), '(new key)')
}

/** Writes a node identity file (`<dataDir>/identity.key` for a node to start with). */
export async function writeNodeIdentityFile(path: string, key: NodeIdentityKey): Promise<void> {
  await writeNewSecretFile(path, privateKeyToProtobuf(key.privateKey))
}

/** The node identity in `path` (a data dir's identity.key); KEY_FILE_INVALID when it holds none. */
export async function readNodeIdentityFile(path: string): Promise<NodeIdentityKey> {
  const bytes = await readFile(path)
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (e) {
    throw new KeyFileError('KEY_FILE_INVALID', `${path} is not a node identity (libp2p key)`, {
      cause: e,
      details: { path },
    })
  }
  return identityOf(key, path)
}

export interface BlsKeyPair {
  readonly secretKey: Uint8Array
  readonly publicKey: Uint8Array
}

/** Writes a new BLS secret key file (hex). */
export async function writeBlsKeyFile(path: string, key: BlsKeyPair): Promise<void> {
  await writeNewSecretFile(path, `${bytesToHex(key.secretKey)}\n`)
}

/** The BLS key pair whose secret is in `path`. */
export async function readBlsKeyFile(path: string): Promise<BlsKeyPair> {
  const secretKey = await readHexSecret(path, 'a BLS secret key')
  const { bls12_381 } = await import('@noble/curves/bls12-381.js')
  try {
    const publicKey = bls12_381.shortSignatures.getPublicKey(secretKey).toBytes()
    return { secretKey, publicKey }
  } catch (e) {
    throw new KeyFileError('KEY_FILE_INVALID', `${path} holds no valid BLS secret key`, {
      cause: e,
      details: { path },
    })
  }
}

/**
 * The BLS key a `committee` node signs with, from `path` (`blsKeyPath(config)` in config.ts:
 * `--bls-key`, else `<dataDir>/bls.key`). A missing file is KEY_FILE_MISSING, naming where
 * the path came from; one that holds no key is KEY_FILE_INVALID.
 */
export async function loadBlsSecretKey(path: string): Promise<BlsKeyPair> {
  try {
    return await readBlsKeyFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    throw new KeyFileError(
      'KEY_FILE_MISSING',
      `${path}: no BLS secret key, which consensus committee signs with (--bls-key, FULMEN_BLS_KEY, chain.blsKey; default <data dir>/bls.key, which fulmen devnet writes)`,
      { cause: error, details: { path } },
    )
  }
}

export function generateBlsKey(): BlsKeyPair {
  return makeBlsKey()
}
