/**
 * Test support for the block store: deterministic content and sources that misbehave.
 * Isomorphic (no Node built-ins): the shared contract runs in Chromium too.
 */

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A xorshift32 byte stream: the same seed gives the same bytes, however it is sliced. */
export class PatternGen {
  private state: number

  constructor(seed: number) {
    this.state = (seed * 0x9e3779b1 + 0x7f4a7c15) >>> 0 || 1
  }

  fill(out: Uint8Array): Uint8Array {
    let x = this.state
    for (let i = 0; i < out.length; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      x >>>= 0
      out[i] = x & 0xff
    }
    this.state = x
    return out
  }
}

/** `len` deterministic pseudo-random bytes. */
export function patternBytes(len: number, seed: number): Uint8Array {
  return new PatternGen(seed).fill(new Uint8Array(len))
}

/** The bytes of `patternBytes(len, seed)` generated on the fly, `chunk` at a time. */
export async function* patternStream(
  len: number,
  seed: number,
  chunk: number,
  delayMs = 0,
): AsyncGenerator<Uint8Array> {
  const gen = new PatternGen(seed)
  for (let off = 0; off < len; off += chunk) {
    if (delayMs > 0) await sleep(delayMs)
    yield gen.fill(new Uint8Array(Math.min(chunk, len - off)))
  }
}

/** Yields `data` in slices of varying sizes, starting with `first` bytes. */
export async function* slices(data: Uint8Array, first = 1000): AsyncGenerator<Uint8Array> {
  for (
    let off = 0, step = first;
    off < data.length;
    off += step, step = (step * 7 + 13) % 300_007
  ) {
    yield data.slice(off, Math.min(data.length, off + Math.max(1, step)))
  }
}

/** Yields `data` in slices of exactly `size` bytes (the last one shorter). */
export async function* chunksOf(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) {
    yield data.slice(off, Math.min(data.length, off + size))
  }
}
