import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { publicKeyOf, verify } from '../crypto/eddsa-poseidon.ts'
import { defaultClientKeyPath, loadOrCreateClientKey } from './client-key-file.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fulmen-client-key-'))
})
afterEach(async () => {
  vi.unstubAllEnvs()
  await rm(dir, { recursive: true, force: true })
})

test('creates a key with parent directories, hex plus newline, mode 0600', async () => {
  const path = join(dir, 'a', 'b', 'client.key')
  const key = await loadOrCreateClientKey(path)
  const text = await readFile(path, 'utf8')
  expect(text).toMatch(/^[0-9a-f]{64}\n$/)
  expect(publicKeyOf(Buffer.from(text.trim(), 'hex'))).toEqual(key.publicKey)
  expect((await stat(path)).mode & 0o777).toBe(0o600)
  expect(verify(key.publicKey, 7n, key.sign(7n))).toBe(true)
  // No temporary files left behind.
  expect(await readdir(join(dir, 'a', 'b'))).toEqual(['client.key'])
})

test('loads the same key on the next start', async () => {
  const path = join(dir, 'client.key')
  const first = await loadOrCreateClientKey(path)
  const second = await loadOrCreateClientKey(path)
  expect(second.publicKey).toEqual(first.publicKey)
})

test('reads a key written by hand (upper case, no newline)', async () => {
  const path = join(dir, 'client.key')
  const hex = '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20'
  await writeFile(path, hex.toUpperCase())
  const key = await loadOrCreateClientKey(path)
  expect(key.publicKey).toEqual(publicKeyOf(Buffer.from(hex, 'hex')))
})

test('concurrent first starts agree on one key', async () => {
  const path = join(dir, 'client.key')
  const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateClientKey(path)))
  const onDisk = publicKeyOf(Buffer.from((await readFile(path, 'utf8')).trim(), 'hex'))
  for (const key of keys) expect(key.publicKey).toEqual(onDisk)
})

test('a corrupt file is an error naming it, and is left alone', async () => {
  const path = join(dir, 'client.key')
  for (const content of [
    '',
    'not a key\n',
    `${'ab'.repeat(31)}\n`,
    `${'ab'.repeat(33)}\n`,
    `${'zz'.repeat(32)}\n`,
  ]) {
    await writeFile(path, content)
    const error = await loadOrCreateClientKey(path).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'CryptoError', code: 'CRYPTO_INVALID_KEY' })
    expect((error as Error).message).toContain(path)
    expect(await readFile(path, 'utf8')).toBe(content)
  }
})

test('the default path is $FULMEN_CLIENT_KEY, else ~/.fulmen/client.key', () => {
  vi.stubEnv('FULMEN_CLIENT_KEY', '/somewhere/key')
  expect(defaultClientKeyPath()).toBe('/somewhere/key')
  vi.stubEnv('FULMEN_CLIENT_KEY', '')
  expect(defaultClientKeyPath()).toBe(join(homedir(), '.fulmen', 'client.key'))
})
