/**
 * The DA batch prover of a Node node: snarkjs in one `worker_threads` Worker
 * (da-prover-worker.ts), so the thread that serves content never proves. The circuit's
 * artifacts (circuits/artifacts/, made by `npm run circuits:setup`) are read and their SHA-256
 * checked against artifacts.json once, at start; the worker keeps them in memory.
 *
 * Proofs are made one at a time, in call order. A prove aborted while queued rejects with the
 * signal's reason; one aborted while the worker proves it terminates the worker (snarkjs cannot
 * be interrupted otherwise) and the next prove starts a new one, as after a crash.
 */
import { readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { SignedCommitment } from '../../acks/batch-binding.ts'
import { DA_BATCH_FILES, DA_BATCH_SLOTS } from '../../acks/da-batch-artifacts.ts'
import { AckError } from '../../acks/errors.ts'
import { LifecycleError } from '../../core/lifecycle.ts'
import { type Logger, noopLogger } from '../../core/logger.ts'
import {
  checkBatchShape,
  checkProvenBatch,
  type DaBatchProver,
  type ProvenBatch,
} from '../../prover/da-batch-prover.ts'
import type { ProveRequest, ProverWorkerData, ProverWorkerMessage } from './protocol.ts'
import { proverErrors } from './protocol.ts'

/** circuits/artifacts/ of the package (dist/ mirrors src/, so the same from either). */
export const DEFAULT_ARTIFACTS_DIR = fileURLToPath(
  new URL('../../../circuits/artifacts/', import.meta.url),
)

/** The worker entry beside this module: `.ts` run from source, `.js` once compiled. */
export const DA_PROVER_WORKER_URL = new URL(
  `./da-prover-worker${extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
)

export interface WorkerDaBatchProverOptions {
  /** Where artifacts.json and the files it names are (default `DEFAULT_ARTIFACTS_DIR`). */
  readonly artifactsDir?: string
  readonly logger?: Logger
  /**
   * ffjavascript's single-thread mode (default true), for serving. Measured on 2 cores, 5 claims:
   * its default mode starts a thread per core inside the worker and proved no faster (4.5–6.7 s
   * against 4.5–5.0 s: little of a proof is the parallel multi-exponentiations), took ~100 MB
   * more, and cut a busy serving thread's throughput during a proof by 34–59% against 6–8% (its
   * event-loop delay: max 23–84 ms against 8–14 ms). One thread leaves the other core to serving.
   */
  readonly singleThread?: boolean
  /** The worker entry (default `DA_PROVER_WORKER_URL`); a test gives one that wraps it. */
  readonly workerUrl?: URL
}

/** The circuit's artifacts as checked at start. */
export interface ProverArtifacts {
  readonly dir: string
  readonly slots: number
  /** Views of SharedArrayBuffers, given to each worker without a copy. */
  readonly wasm: Uint8Array
  readonly zkey: Uint8Array
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

const hex = (bytes: ArrayBuffer) => Buffer.from(bytes).toString('hex')

/**
 * Reads artifacts.json in `dir` and the wasm and zkey it names, each checked for its size and
 * SHA-256; the setup must be the one the chain's key was made from (da-batch-artifacts.ts).
 * Throws ACK_PROVER_ARTIFACTS (with the path, and the setup command in `details.command`) for
 * a file missing, unreadable or not the one named.
 */
export async function loadProverArtifacts(
  dir: string = DEFAULT_ARTIFACTS_DIR,
  signal?: AbortSignal,
): Promise<ProverArtifacts> {
  let slots = DA_BATCH_SLOTS
  const command = () =>
    `npm run circuits:setup -- --slots ${slots}` +
    (dir === DEFAULT_ARTIFACTS_DIR ? '' : ` --out ${dir}`)
  // The repository's files are committed: restoring them keeps the chain's key, a new setup
  // makes another (src/acks/da-batch-artifacts.ts is regenerated with them).
  const refuse = (path: string, problem: string, cause?: unknown) =>
    new AckError(
      'ACK_PROVER_ARTIFACTS',
      `DA batch prover: ${path} ${problem}. Restore the committed circuits/artifacts, or make ` +
        `a new setup (a new chain key) with \`${command()}\``,
      { details: { path, command: command() }, ...(cause === undefined ? {} : { cause }) },
    )
  const read = async (path: string): Promise<Buffer> => {
    try {
      return await readFile(path, { signal })
    } catch (error) {
      if (signal?.aborted) throw signal.reason
      const code = (error as { code?: string }).code
      throw refuse(path, code === 'ENOENT' ? 'is missing' : `cannot be read (${code})`, error)
    }
  }

  const indexPath = join(dir, 'artifacts.json')
  let index: unknown
  try {
    index = JSON.parse((await read(indexPath)).toString('utf8'))
  } catch (error) {
    if (error instanceof AckError || signal?.aborted) throw error
    throw refuse(indexPath, 'is not JSON', error)
  }
  if (!isRecord(index) || !Number.isInteger(index.slots) || (index.slots as number) < 1) {
    throw refuse(indexPath, 'names no slot count')
  }
  slots = index.slots as number
  const files = isRecord(index.files) ? index.files : {}
  // A proof from another setup's zkey never verifies under the chain's key: refused now.
  const sha256Of = (name: string) => {
    const file = files[name]
    return isRecord(file) ? file.sha256 : undefined
  }
  if (
    slots !== DA_BATCH_SLOTS ||
    sha256Of(DA_BATCH_FILES.wasm.name) !== DA_BATCH_FILES.wasm.sha256 ||
    sha256Of(DA_BATCH_FILES.zkey.name) !== DA_BATCH_FILES.zkey.sha256
  ) {
    throw refuse(
      indexPath,
      "is not the setup of the chain's key (src/acks/da-batch-artifacts.ts: " +
        `${DA_BATCH_SLOTS} slots, ${DA_BATCH_FILES.zkey.name} ${DA_BATCH_FILES.zkey.sha256})`,
    )
  }

  const load = async (name: string): Promise<Uint8Array> => {
    const path = join(dir, name)
    const expected = files[name]
    if (!isRecord(expected) || typeof expected.sha256 !== 'string') {
      throw refuse(indexPath, `names no SHA-256 for ${name}`)
    }
    const bytes = await read(path)
    if (typeof expected.bytes === 'number' && bytes.length !== expected.bytes) {
      throw refuse(path, `is ${bytes.length} bytes, artifacts.json says ${expected.bytes}`)
    }
    // WebCrypto hashes on libuv's pool: 25 MB here would hold the serving thread ~0.2 s.
    const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
    if (sha256 !== expected.sha256) {
      throw refuse(path, `has SHA-256 ${sha256}, artifacts.json says ${expected.sha256}`)
    }
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length))
    shared.set(bytes)
    return shared
  }
  const wasm = await load(DA_BATCH_FILES.wasm.name)
  const zkey = await load(DA_BATCH_FILES.zkey.name)
  return { dir, slots, wasm, zkey }
}

/** A prove waiting for, or holding, the worker. */
interface Job {
  readonly claims: readonly SignedCommitment[]
  readonly signal: AbortSignal | undefined
  readonly resolve: (batch: ProvenBatch) => void
  readonly reject: (error: unknown) => void
  /** Set while queued: takes the job out of the queue and rejects it. */
  onAbort?: () => void
}

/** One worker thread: ready once snarkjs loaded, `failure` once it died (not by `end`). */
interface ProverThread {
  readonly worker: Worker
  readonly ready: Promise<void>
  readonly failure: Promise<never>
  /** Gets the worker's answers to requests. */
  answer?: (message: ProverWorkerMessage) => void
  /** Terminates it. */
  end(): Promise<void>
}

function stopped(): AckError {
  return new AckError('ACK_PROVER_STOPPED', 'the DA batch prover is not running')
}

/** Rejects with `signal`'s reason once it aborts; `dispose` removes the listener. */
function abortion(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let dispose = () => {}
  const promise = new Promise<never>((_, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    dispose = () => signal.removeEventListener('abort', onAbort)
  })
  promise.catch(() => {})
  return { promise, dispose }
}

/** The DA batch prover in a worker thread; `start` checks the artifacts and starts the worker. */
export function createWorkerDaBatchProver(options: WorkerDaBatchProverOptions = {}): DaBatchProver {
  const log = (options.logger ?? noopLogger).child({ component: 'da-prover' })
  const singleThread = options.singleThread ?? true
  const workerUrl = options.workerUrl ?? DA_PROVER_WORKER_URL
  let artifacts: ProverArtifacts | undefined
  /** Aborted by `stop` (ACK_PROVER_STOPPED): ends the proof in flight. */
  let halt: AbortController | undefined
  let thread: ProverThread | undefined
  /** The last thread's termination: a new worker starts after it, never beside it. */
  let ended: Promise<unknown> = Promise.resolve()
  const queue: Job[] = []
  let current: Job | undefined
  let nextId = 1

  const spawn = (a: ProverArtifacts): ProverThread => {
    const data: ProverWorkerData = { slots: a.slots, wasm: a.wasm, zkey: a.zkey, singleThread }
    const worker = new Worker(workerUrl, { workerData: data, name: 'fulmen-da-prover' })
    let ending = false
    let crash: unknown
    let markReady = () => {}
    let fail: (error: unknown) => void = () => {}
    const ready = new Promise<void>((resolve) => {
      markReady = resolve
    })
    const failure = new Promise<never>((_, reject) => {
      fail = reject
    })
    failure.catch(() => {})
    const self: ProverThread = {
      worker,
      ready: Promise.race([ready, failure]),
      failure,
      end() {
        ending = true
        return worker.terminate().then(() => {})
      },
    }
    worker.on('message', (message: ProverWorkerMessage) => {
      if (message.type === 'ready') markReady()
      else self.answer?.(message)
    })
    worker.on('error', (error) => {
      crash = error
    })
    worker.on('exit', (exitCode) => {
      if (thread === self) thread = undefined
      if (ending) return
      log.warn({ exitCode, err: crash }, 'the prover worker died; the next proof starts another')
      const why = crash instanceof Error ? `: ${crash.message}` : ''
      fail(
        new AckError('ACK_PROVER_FAILED', `the prover worker exited with code ${exitCode}${why}`, {
          details: { exitCode },
          ...(crash === undefined ? {} : { cause: crash }),
        }),
      )
    })
    return self
  }

  /** Terminates the worker, if any; the next proof waits for that and starts another. */
  const endThread = () => {
    const t = thread
    thread = undefined
    if (t !== undefined) ended = t.end().catch(() => {})
  }

  const run = async (job: Job, a: ProverArtifacts, stop: AbortSignal): Promise<ProvenBatch> => {
    const signal = job.signal === undefined ? stop : AbortSignal.any([job.signal, stop])
    const abort = abortion(signal)
    try {
      await Promise.race([ended, abort.promise])
      if (thread === undefined) {
        thread = spawn(a)
        log.info('prover worker started')
      }
      const t = thread
      await Promise.race([t.ready, abort.promise])
      const id = nextId++
      const answer = new Promise<ProverWorkerMessage>((resolve) => {
        t.answer = (message) => {
          if (message.type !== 'ready' && message.id === id) resolve(message)
        }
      })
      const request: ProveRequest = { type: 'prove', id, claims: job.claims }
      t.worker.postMessage(request)
      const message = await Promise.race([answer, t.failure, abort.promise])
      if (message.type === 'failed') throw proverErrors.fromData(message.error)
      if (message.type !== 'proved') throw new AckError('ACK_PROVER_FAILED', 'no proof came back')
      return checkProvenBatch(job.claims, message.batch)
    } catch (error) {
      // Aborted (or stopped) while the worker works on it: only terminating stops snarkjs.
      if (signal.aborted && error === signal.reason) endThread()
      throw error
    } finally {
      abort.dispose()
    }
  }

  const pump = () => {
    if (current !== undefined) return
    const job = queue.shift()
    if (job === undefined) return
    if (job.onAbort !== undefined) job.signal?.removeEventListener('abort', job.onAbort)
    const a = artifacts
    const stop = halt?.signal
    if (a === undefined || stop === undefined || stop.aborted) {
      job.reject(stopped())
      return pump()
    }
    current = job
    const t0 = performance.now()
    run(job, a, stop)
      .then(
        (batch) => {
          const ms = Math.round(performance.now() - t0)
          log.debug({ claims: batch.claims, proveMs: batch.proveMs, ms }, 'batch proven')
          job.resolve(batch)
        },
        (error) => job.reject(error),
      )
      .finally(() => {
        current = undefined
        pump()
      })
  }

  return {
    name: 'da-prover',
    get slots() {
      if (artifacts === undefined) {
        throw new LifecycleError('LIFECYCLE_NOT_STARTED', 'da-prover', 'da-prover is not started')
      }
      return artifacts.slots
    },
    async start(signal) {
      if (halt !== undefined) {
        throw new LifecycleError('LIFECYCLE_ALREADY_STARTED', 'da-prover', 'da-prover was started')
      }
      const t0 = performance.now()
      const a = await loadProverArtifacts(options.artifactsDir ?? DEFAULT_ARTIFACTS_DIR, signal)
      // The worker loads snarkjs now: a start that cannot prove fails here, not at a proof.
      const t = spawn(a)
      thread = t
      const abort = signal === undefined ? undefined : abortion(signal)
      try {
        await (abort === undefined ? t.ready : Promise.race([t.ready, abort.promise]))
      } catch (error) {
        endThread()
        await ended
        throw error
      } finally {
        abort?.dispose()
      }
      artifacts = a
      halt = new AbortController()
      log.info(
        { slots: a.slots, dir: a.dir, singleThread, ms: Math.round(performance.now() - t0) },
        'DA batch prover started',
      )
    },
    async stop() {
      halt?.abort(stopped())
      for (const job of queue.splice(0)) {
        if (job.onAbort !== undefined) job.signal?.removeEventListener('abort', job.onAbort)
        job.reject(stopped())
      }
      endThread()
      await ended
    },
    prove(claims, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason)
      if (artifacts === undefined || halt === undefined || halt.signal.aborted) {
        return Promise.reject(stopped())
      }
      let plain: SignedCommitment[]
      try {
        plain = checkBatchShape(claims, artifacts.slots)
      } catch (error) {
        return Promise.reject(error)
      }
      return new Promise<ProvenBatch>((resolve, reject) => {
        const job: Job = { claims: plain, signal, resolve, reject }
        if (signal !== undefined) {
          job.onAbort = () => {
            const at = queue.indexOf(job)
            if (at === -1) return // running: run() has its own listener
            queue.splice(at, 1)
            reject(signal.reason)
          }
          signal.addEventListener('abort', job.onAbort, { once: true })
        }
        queue.push(job)
        pump()
      })
    },
  }
}
