/**
 * Benchmark helpers shared by the Node measurements and the Chromium page/worker: no Node
 * built-ins here.
 */

/** One measured number. `name` is stable (the `--json` key); `unit` e.g. `MiB/s`, `x`, `%`. */
export interface Figure {
  readonly name: string
  readonly value: number
  readonly unit: string
}

export const MiB = 1024 * 1024
export const GiB = 1024 * MiB

/**
 * Fills `out` (4-byte aligned) with xorshift32 output: deterministic, incompressible bytes,
 * ~1 GiB/s to generate.
 */
export function fillPseudoRandom(out: Uint8Array, seed = 0x2545f491): Uint8Array {
  const words = Math.floor(out.byteLength / 4)
  const view = new Uint32Array(out.buffer, out.byteOffset, words)
  let x = seed >>> 0 || 1
  for (let i = 0; i < words; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    view[i] = x
  }
  for (let i = 4 * words; i < out.length; i++) out[i] = i & 255
  return out
}

/** A fresh pseudo-random input of `bytes` bytes. */
export function makeInput(bytes: number, seed?: number): Uint8Array<ArrayBuffer> {
  return fillPseudoRandom(new Uint8Array(bytes), seed) as Uint8Array<ArrayBuffer>
}

export interface BestOfOptions {
  /** Timed repetitions; the fastest counts. */
  readonly reps: number
  /** Untimed runs before (default 1 run of `run` itself). */
  readonly warmup?: () => unknown
}

/**
 * Runs `run` at least twice and for at least `seconds`: long enough for V8 to move hot
 * JavaScript and WebAssembly to its optimising tier before anything is timed.
 */
export async function warmUp(run: () => unknown, seconds = 0.5): Promise<void> {
  const t0 = performance.now()
  for (let i = 0; i < 2 || performance.now() - t0 < seconds * 1000; i++) await run()
}

/** Seconds of the fastest of `reps` runs, after a warm-up. */
export async function bestOf(run: () => unknown, options: BestOfOptions): Promise<number> {
  await (options.warmup ?? run)()
  let best = Number.POSITIVE_INFINITY
  for (let i = 0; i < options.reps; i++) {
    const t0 = performance.now()
    await run()
    best = Math.min(best, performance.now() - t0)
  }
  return best / 1000
}

/**
 * Best seconds of each of several contenders, run in turns (A B C, A B C, ...) so a noisy
 * moment on a shared machine does not land on one contender only. `warmups` rounds first.
 */
export async function bestOfInterleaved(
  runs: Record<string, () => unknown>,
  options: { readonly reps: number; readonly warmups?: number },
): Promise<Record<string, number>> {
  const best: Record<string, number> = {}
  for (let i = 0; i < (options.warmups ?? 1); i++)
    for (const run of Object.values(runs)) await run()
  for (let i = 0; i < options.reps; i++) {
    for (const [name, run] of Object.entries(runs)) {
      const t0 = performance.now()
      await run()
      const s = (performance.now() - t0) / 1000
      best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, s)
    }
  }
  return best
}

/** Throughput in MiB/s. */
export function mibPerSecond(bytes: number, seconds: number): number {
  return bytes / MiB / seconds
}

/** `data` as an async iterable of `chunk`-byte views (no copies). */
export async function* chunksOf(data: Uint8Array, chunk: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += chunk)
    yield data.subarray(off, Math.min(data.length, off + chunk))
}

/**
 * A `total`-byte stream of `chunk`-byte chunks all served from one reused buffer: input that
 * costs no memory, for measuring what the consumer holds. Pull-based (high-water mark 0), so
 * a chunk is handed out only when read, and consumers copy it before the next read.
 */
export function generatedStream(total: number, chunk = 65_536): ReadableStream<Uint8Array> {
  const buffer = makeInput(chunk, 0x5eed)
  let sent = 0
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= total) {
          controller.close()
          return
        }
        const n = Math.min(chunk, total - sent)
        controller.enqueue(buffer.subarray(0, n))
        sent += n
      },
    },
    { highWaterMark: 0 },
  )
}

export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** `min–max unit`, for the notes beside a median. */
export function spread(values: readonly number[], unit: string, digits = 0): string {
  const s = [...values].sort((a, b) => a - b)
  return `${s[0]!.toFixed(digits)}–${s.at(-1)!.toFixed(digits)} ${unit}`
}
