/**
 * The DA batch prover in its worker thread (worker-prover.ts), on the real 5-slot artifacts in
 * circuits/artifacts/: its proofs verify (noble) for `batchDigest` of their claims, the main
 * thread serves HTTP while it proves, aborts, typed errors, a crashed worker replaced. Each
 * proof takes seconds: four are made. Missing artifacts fail the file, they are not skipped.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { batchDigest, type SignedCommitment } from '../../acks/batch-binding.ts'
import type { Commitment } from '../../acks/commitment.ts'
import {
  decodeProof,
  type Groth16VerificationKey,
  nobleGroth16Kernel,
  parseVerificationKey,
  verifyGroth16,
} from '../../acks/groth16.ts'
import { signedClaim } from '../../acks/testing/da-batch-claims.ts'
import type { Logger } from '../../core/logger.ts'
import { generateClientKey } from '../../crypto/client-key.ts'
import type { DaBatchProver, ProvenBatch } from '../../prover/da-batch-prover.ts'
import { createWorkerDaBatchProver, DEFAULT_ARTIFACTS_DIR } from './worker-prover.ts'

const SETUP = 'npm run circuits:setup -- --slots 5'
const keys = Array.from({ length: 6 }, () => generateClientKey())
const nodeKey = new Uint8Array(32).fill(9)

function claim(k: number, over: Partial<Commitment> = {}): SignedCommitment {
  const key = keys[k] as (typeof keys)[number]
  return signedClaim(key, k, { session: 2000n, anchor: 0xb0, epoch: 7n }, nodeKey, over)
}
const claims = keys.map((_, k) => claim(k))

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p
  } catch (error) {
    return error as { code?: string; message: string }
  }
  throw new Error('it resolved')
}

let key: Groth16VerificationKey

function expectProofOf(batch: ProvenBatch, of: readonly SignedCommitment[]): void {
  expect(batch.claims).toBe(of.length)
  expect(batch.proof).toHaveLength(256)
  expect(batch.digest).toBe(batchDigest(of.map((c) => c.commitment)))
  const proof = decodeProof(batch.proof)
  expect(verifyGroth16(nobleGroth16Kernel, key, [batch.digest], proof)).toBe(true)
  expect(verifyGroth16(nobleGroth16Kernel, key, [batch.digest + 1n], proof)).toBe(false)
}

/** Info lines, to see when a worker thread is started. */
function recordingLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug: () => {},
    info: (a: object | string, b?: string) => lines.push(typeof a === 'string' ? a : (b ?? '')),
    warn: () => {},
    error: () => {},
    child: () => logger,
  }
  return logger
}

beforeAll(() => {
  const vk = join(DEFAULT_ARTIFACTS_DIR, 'verification_key.json')
  if (!existsSync(join(DEFAULT_ARTIFACTS_DIR, 'artifacts.json')) || !existsSync(vk)) {
    throw new Error(
      `the DA batch circuit's artifacts are not in ${DEFAULT_ARTIFACTS_DIR}: restore the committed ones (git checkout -- circuits/artifacts), or make a new setup with \`${SETUP}\` (about 15 minutes, a new chain key)`,
    )
  }
  key = parseVerificationKey(JSON.parse(readFileSync(vk, 'utf8')))
})

describe('artifacts checked at start', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fulmen-prover-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('a directory without artifacts.json: ACK_PROVER_ARTIFACTS naming it and the setup', async () => {
    const error = await rejection(createWorkerDaBatchProver({ artifactsDir: dir }).start())
    expect(error).toMatchObject({
      code: 'ACK_PROVER_ARTIFACTS',
      details: { path: join(dir, 'artifacts.json') },
    })
    expect(error.message).toContain(SETUP)
  })

  test('a wasm that is not the one named, or a zkey missing: ACK_PROVER_ARTIFACTS', async () => {
    const from = (name: string) => join(DEFAULT_ARTIFACTS_DIR, name)
    copyFileSync(from('artifacts.json'), join(dir, 'artifacts.json'))
    const wasm = readFileSync(from('da_batch_5.wasm'))
    wasm[wasm.length - 1] = (wasm[wasm.length - 1] as number) ^ 1
    writeFileSync(join(dir, 'da_batch_5.wasm'), wasm)
    const corrupt = await rejection(createWorkerDaBatchProver({ artifactsDir: dir }).start())
    expect(corrupt).toMatchObject({
      code: 'ACK_PROVER_ARTIFACTS',
      details: { path: join(dir, 'da_batch_5.wasm') },
    })
    expect(corrupt.message).toMatch(/SHA-256/)
    expect(corrupt.message).toContain(SETUP)

    copyFileSync(from('da_batch_5.wasm'), join(dir, 'da_batch_5.wasm'))
    const missing = await rejection(createWorkerDaBatchProver({ artifactsDir: dir }).start())
    expect(missing).toMatchObject({
      code: 'ACK_PROVER_ARTIFACTS',
      details: { path: join(dir, 'da_batch_5.zkey') },
    })
    expect(missing.message).toMatch(/is missing/)
  })

  test('another setup than the chain key’s: ACK_PROVER_ARTIFACTS before any file is read', async () => {
    const other = JSON.parse(readFileSync(join(DEFAULT_ARTIFACTS_DIR, 'artifacts.json'), 'utf8'))
    other.files['da_batch_5.zkey'].sha256 = '00'.repeat(32)
    writeFileSync(join(dir, 'artifacts.json'), JSON.stringify(other))
    const error = await rejection(createWorkerDaBatchProver({ artifactsDir: dir }).start())
    expect(error).toMatchObject({
      code: 'ACK_PROVER_ARTIFACTS',
      details: { path: join(dir, 'artifacts.json') },
    })
    expect(error.message).toMatch(/chain's key/)
  })

  test('before start: ACK_PROVER_STOPPED', async () => {
    const error = await rejection(createWorkerDaBatchProver().prove([claims[0]!]))
    expect(error.code).toBe('ACK_PROVER_STOPPED')
  })
})

describe('a started prover (5 slots)', () => {
  const lines: string[] = []
  let prover: DaBatchProver
  const workersStarted = () => lines.filter((l) => l === 'prover worker started').length

  beforeAll(async () => {
    prover = createWorkerDaBatchProver({ logger: recordingLogger(lines) })
    await prover.start()
  }, 60_000)
  afterAll(() => prover?.stop())

  test('five claims: the proof verifies for their digest, and HTTP is served meanwhile', async () => {
    expect(prover.slots).toBe(5)
    let served = 0
    const server: Server = createServer((_, res) => {
      served++
      res.end('ok')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const lag = monitorEventLoopDelay({ resolution: 10 })
    lag.enable()
    let done = false
    const five = claims.slice(0, 5)
    const proving = prover.prove(five).finally(() => {
      done = true
    })
    // One request at a time on this thread until the proof is back.
    let answered = 0
    while (!done) {
      const res = await fetch(url)
      if ((await res.text()) === 'ok') answered++
    }
    lag.disable()
    server.close()
    const batch = await proving
    console.log(
      `5 claims: proveMs ${batch.proveMs}; ${answered} HTTP requests answered meanwhile; ` +
        `event-loop delay p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, ` +
        `p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(1)} ms`,
    )
    expectProofOf(batch, five)
    // Seconds of proving, a loopback request a millisecond or so: a thread busy proving would
    // answer a handful at most (between snarkjs's awaits).
    expect(answered).toBeGreaterThan(50)
    expect(served).toBe(answered)
  })

  test('too many claims, none, or a short signature: refused before any work', async () => {
    expect((await rejection(prover.prove(claims))).code).toBe('ACK_BATCH_TOO_LARGE')
    expect((await rejection(prover.prove([]))).code).toBe('ACK_MALFORMED')
    const short = { ...claims[0]!, signature: claims[0]!.signature.slice(1) }
    expect((await rejection(prover.prove([short]))).code).toBe('ACK_MALFORMED')
  })

  test('two claims (three slots padding); a prove aborted before, or while queued, rejects with the reason', async () => {
    const two = claims.slice(0, 2)
    const first = prover.prove(two)
    const reason = new Error('no longer needed')
    expect(await rejection(prover.prove(two, AbortSignal.abort(reason)))).toBe(reason)
    const queued = new AbortController()
    const second = prover.prove(claims.slice(2, 4), queued.signal)
    queued.abort(reason)
    expect(await rejection(second)).toBe(reason)
    expectProofOf(await first, two)
  }, 60_000)

  test('aborted while proving: rejects with the reason, the worker is replaced; a forged claim is a typed error; then a proof', async () => {
    const before = workersStarted()
    const during = new AbortController()
    const proving = prover.prove(claims.slice(0, 5), during.signal)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const reason = new Error('shutting the batch')
    during.abort(reason)
    expect(await rejection(proving)).toBe(reason)

    const forged = { ...claims[1]!, signature: claims[1]!.signature.slice() }
    forged.signature[40] = (forged.signature[40] as number) ^ 1
    const error = await rejection(prover.prove([claims[0]!, forged]))
    expect(error).toMatchObject({ name: 'AckError', code: 'ACK_FORGED_COMMITMENT' })
    expect(error.message).toMatch(/^claim 1:/)
    // The aborted proof's worker was terminated: a new one answered.
    expect(workersStarted()).toBe(before + 1)

    const one = [claims[5]!]
    expectProofOf(await prover.prove(one), one)
    expect(workersStarted()).toBe(before + 1)
  }, 60_000)
})

describe('a worker that dies', () => {
  // testing/exiting-prover-worker.ts: a batch of three claims ends its thread with code 7.
  const EXIT_CLAIMS = 3
  const EXIT_CODE = 7

  test('the prove in flight fails with ACK_PROVER_FAILED, the next proof works; after stop, ACK_PROVER_STOPPED', async () => {
    const prover = createWorkerDaBatchProver({
      workerUrl: new URL('./testing/exiting-prover-worker.ts', import.meta.url),
    })
    await prover.start()
    try {
      const error = await rejection(prover.prove(claims.slice(0, EXIT_CLAIMS)))
      expect(error).toMatchObject({ code: 'ACK_PROVER_FAILED', details: { exitCode: EXIT_CODE } })
      const one = [claims[2]!]
      expectProofOf(await prover.prove(one), one)
    } finally {
      await prover.stop()
    }
    expect((await rejection(prover.prove([claims[0]!]))).code).toBe('ACK_PROVER_STOPPED')
  }, 90_000)
})
