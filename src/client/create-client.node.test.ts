/**
 * `createClient` checks its options before it starts anything: an unusable bootstrap address
 * is a ClientOptionsError (CLIENT_BAD_ADDRESS) naming it, and no libp2p node is left running,
 * so a process whose only work was that call exits by itself (it hung forever when libp2p was
 * started first and leaked).
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { childEnv } from '../devnet/processes.ts'
import { createClient } from './client.ts'
import { ClientOptionsError } from './errors.ts'

const BAD_ADDRESSES = [
  '/ip4/127.0.0.1/tcp/4070/ws',
  'foo',
  '127.0.0.1:4070',
  '/ip4/127.0.0.1/tcp/4070/ws/p2p/not-a-peer-id',
]

const CLIENT_MODULE = fileURLToPath(new URL('./client.ts', import.meta.url))

/**
 * Runs `createClient({ bootstrap: [address] })` in a Node process of its own that does
 * nothing else and never calls `process.exit`: it ends when nothing is left running.
 */
function runAlone(address: string): Promise<{ code: number | null; stdout: string }> {
  const script = `
    import { createClient } from ${JSON.stringify(CLIENT_MODULE)}
    try {
      await createClient({ bootstrap: [${JSON.stringify(address)}] })
      console.log('started')
    } catch (error) {
      console.log(JSON.stringify({ name: error.name, code: error.code, value: error.value }))
    }`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  // Not a timing assertion: a process that outlives this has leaked something for good.
  const hang = setTimeout(() => child.kill('SIGKILL'), 45_000)
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(hang)
      resolve({ code, stdout })
    }),
  )
}

describe('createClient with an unusable bootstrap address', () => {
  test.each(BAD_ADDRESSES)('%s: CLIENT_BAD_ADDRESS naming it', async (address) => {
    const error = await createClient({ bootstrap: [address] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ClientOptionsError)
    expect(error).toMatchObject({ code: 'CLIENT_BAD_ADDRESS', option: 'bootstrap', value: address })
    expect((error as Error).message).toContain(address)
  })

  test('another option out of its domain: CLIENT_BAD_OPTION, before anything starts', async () => {
    for (const options of [
      { stallTimeoutMs: -1 },
      { handshakeTimeoutMs: Number.NaN },
      { order: 'fastest' as 'given' },
      { holding: { memoryLimit: 1.5 } },
    ]) {
      const error = await createClient({ bootstrap: [], ...options }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ClientOptionsError)
      expect((error as ClientOptionsError).code).toBe('CLIENT_BAD_OPTION')
    }
  })

  test.each(BAD_ADDRESSES.slice(0, 3))(
    '%s: a process that only makes the client exits by itself, nothing leaked',
    async (address) => {
      const { code, stdout } = await runAlone(address)
      expect(code).toBe(0)
      expect(JSON.parse(stdout)).toEqual({
        name: 'ClientOptionsError',
        code: 'CLIENT_BAD_ADDRESS',
        value: address,
      })
    },
  )
})
