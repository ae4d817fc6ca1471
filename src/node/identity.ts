/**
 * The node's network identity: an Ed25519 key (its libp2p peer id), created on first start
 * and kept in `<dataDir>/identity.key` (libp2p's protobuf encoding, mode 0600). Written to a
 * temporary file and renamed, so a crash never leaves half a key.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export const IDENTITY_FILE = 'identity.key'

export async function loadOrCreateIdentity(
  dataDir: string,
): Promise<{ key: PrivateKey; created: boolean }> {
  const path = join(dataDir, IDENTITY_FILE)
  try {
    return { key: privateKeyFromProtobuf(await readFile(path)), created: false }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot load the node identity from ${path}: ${(error as Error).message}`)
    }
  }
  await mkdir(dataDir, { recursive: true })
  const key = await generateKeyPair('Ed25519')
  const tmp = `${path}.${process.pid}.tmp`
  const file = await open(tmp, 'w', 0o600)
  try {
    await file.writeFile(privateKeyToProtobuf(key))
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(tmp, path)
  return { key, created: true }
}
