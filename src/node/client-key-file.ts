/**
 * The client key on disk (Node): the 32-byte EdDSA-Poseidon private key as 64 hex digits and a
 * newline, mode 0600, created on first use. A new key is written to a temporary file and
 * hard-linked into place, so a crash never leaves half a key and two processes starting at once
 * end up with the same key (the loser of the race reads the winner's file). A file that is
 * not a key is an error naming it: it is never replaced, since it may be the only copy.
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { type ClientKey, clientKeyFromPrivate } from '../crypto/client-key.ts'
import { randomPrivateKey } from '../crypto/eddsa-poseidon.ts'
import { CryptoError } from '../crypto/errors.ts'

const KEY_TEXT = /^[0-9a-fA-F]{64}$/
// link() errors of filesystems without hard links (FAT, some network and FUSE mounts).
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'])

/** `$FULMEN_CLIENT_KEY`, else `~/.fulmen/client.key`. */
export function defaultClientKeyPath(): string {
  return process.env.FULMEN_CLIENT_KEY || join(homedir(), '.fulmen', 'client.key')
}

/** The key stored at `path`, or a new one saved there if the file does not exist. */
export async function loadOrCreateClientKey(path: string): Promise<ClientKey> {
  const existing = await readKey(path)
  if (existing !== undefined) return existing
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const privateKey = randomPrivateKey()
  const tmp = `${path}.${process.pid}.${bytesToHex(randomBytes(4))}.tmp`
  const file = await open(tmp, 'wx', 0o600)
  try {
    await file.writeFile(`${bytesToHex(privateKey)}\n`)
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    await link(tmp, path) // unlike rename, fails if another process got there first
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? ''
    if (code === 'EEXIST') {
      await unlink(tmp)
      return loadOrCreateClientKey(path) // the winner's key
    }
    if (!NO_HARD_LINKS.has(code)) {
      await unlink(tmp).catch(() => {})
      throw error
    }
    await rename(tmp, path) // no hard links here: atomic still, only the race is lost
    return clientKeyFromPrivate(privateKey)
  }
  await unlink(tmp)
  return clientKeyFromPrivate(privateKey)
}

/** The key in `path`; undefined if there is no such file; CRYPTO_INVALID_KEY if it is not a key. */
async function readKey(path: string): Promise<ClientKey | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  const hex = text.trim()
  if (!KEY_TEXT.test(hex)) {
    throw new CryptoError(
      'CRYPTO_INVALID_KEY',
      `${path} is not a client key (expected 64 hex digits): fix or remove it`,
    )
  }
  return clientKeyFromPrivate(hexToBytes(hex.toLowerCase()))
}
