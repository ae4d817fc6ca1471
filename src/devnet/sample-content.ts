/**
 * The demo's and the e2e tests' sample content, made on the spot (nothing downloaded):
 *
 *   image     fulmen.png   an aurora over a ridge with a lightning bolt, drawn pixel by
 *                          pixel and PNG-encoded (png.ts); about 1 MiB, several blocks
 *   video     fulmen-sample.webm   10 s of VP9 with a frame counter, made once by
 *                          scripts/make-sample-video.ts (ffmpeg) and committed
 *   download  fulmen-download.bin  deterministic bytes, the BLAKE3 XOF of a seed (64 MiB by
 *                          default, a quarter of a second)
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { ready } from '../b3/engine.ts'
import { hash } from '../b3/hash.ts'
import { encodePng } from './png.ts'

export interface SampleFile {
  readonly name: string
  /** MIME type. */
  readonly type: string
  readonly bytes: Uint8Array
}

export interface SampleContent {
  readonly image: SampleFile
  readonly video: SampleFile
  readonly download: SampleFile
}

export const SAMPLE_VIDEO_PATH = fileURLToPath(
  new URL('../../scripts/sample-media/fulmen-sample.webm', import.meta.url),
)

export const DEFAULT_DOWNLOAD_BYTES = 64 * 1024 * 1024

/** The lightning bolt, in 1280x720 pixel coordinates (scaled to other sizes). */
const BOLT: readonly (readonly [number, number])[] = [
  [690, 70],
  [810, 70],
  [712, 292],
  [808, 292],
  [556, 660],
  [642, 384],
  [548, 384],
]

/** Distance from (px, py) to the segment a–b. */
function segmentDistance(px: number, py: number, a: readonly number[], b: readonly number[]) {
  const dx = b[0]! - a[0]!
  const dy = b[1]! - a[1]!
  const t = Math.max(0, Math.min(1, ((px - a[0]!) * dx + (py - a[1]!) * dy) / (dx * dx + dy * dy)))
  return Math.hypot(px - a[0]! - t * dx, py - a[1]! - t * dy)
}

/** Signed distance to a polygon: negative inside (even-odd rule). */
function polygonDistance(px: number, py: number, poly: readonly (readonly number[])[]): number {
  let d = Number.POSITIVE_INFINITY
  let inside = false
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const a = poly[i]!
    const b = poly[j]!
    d = Math.min(d, segmentDistance(px, py, a, b))
    if (
      a[1]! > py !== b[1]! > py &&
      px < ((b[0]! - a[0]!) * (py - a[1]!)) / (b[1]! - a[1]!) + a[0]!
    )
      inside = !inside
  }
  return inside ? -d : d
}

/** A small integer hash of a pixel, for stars and grain (the same picture every time). */
function pixelNoise(x: number, y: number): number {
  let h = Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1)
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

const CURTAINS = [
  // base height, waviness, phase, colour
  { base: 0.36, wave: 0.07, phase: 0.3, color: [70, 255, 160] },
  { base: 0.5, wave: 0.05, phase: 2.1, color: [40, 210, 255] },
  { base: 0.27, wave: 0.06, phase: 4.0, color: [180, 100, 255] },
] as const

/** RGB pixels of the picture: a night sky, three aurora curtains, a ridge and the bolt. */
export function drawAurora(width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3)
  const sx = width / 1280
  const sy = height / 720
  const bolt = BOLT.map(([x, y]) => [x * sx, y * sy])
  const glow = 38 * Math.min(sx, sy)
  const xs = bolt.map((p) => p[0]!)
  const ys = bolt.map((p) => p[1]!)
  const box = {
    x0: Math.min(...xs) - 4 * glow,
    x1: Math.max(...xs) + 4 * glow,
    y0: Math.min(...ys) - 4 * glow,
    y1: Math.max(...ys) + 4 * glow,
  }
  // Per column: each curtain's lower edge and its rays, and the ridge line.
  const edges = CURTAINS.map(() => new Float32Array(width))
  const rays = CURTAINS.map(() => new Float32Array(width))
  const ridge = new Float32Array(width)
  for (let x = 0; x < width; x++) {
    const u = x / width
    CURTAINS.forEach((c, k) => {
      edges[k]![x] =
        c.base + c.wave * Math.sin(u * 5.3 + c.phase) + 0.025 * Math.sin(u * 17 + 2 * c.phase)
      const r = Math.sin(u * 150 + 3 * Math.sin(u * 11 + c.phase))
      rays[k]![x] = 0.55 + 0.45 * r * r
    })
    ridge[x] = 0.84 + 0.045 * Math.sin(u * 6.5 + 0.8) + 0.02 * Math.sin(u * 23) - 0.03 * u
  }
  for (let y = 0; y < height; y++) {
    const v = y / height
    for (let x = 0; x < width; x++) {
      const n = pixelNoise(x, y)
      // Sky: deep blue at the top to violet near the horizon.
      let r = 6 + 30 * v
      let g = 8 + 10 * v
      let b = 28 + 40 * v
      if (v < 0.8 && n % 1000 < 2) {
        const star = 120 + (n >>> 24) / 2
        r += star
        g += star
        b += star
      }
      for (let k = 0; k < CURTAINS.length; k++) {
        const d = v - edges[k]![x]!
        // Sharp and bright at the lower edge, fading slowly upwards.
        const a = d > 0 ? Math.exp(-((d / 0.018) ** 2)) : Math.exp(d / 0.11)
        const i = a * rays[k]![x]! * 0.75
        const c = CURTAINS[k]!.color
        r += c[0] * i
        g += c[1] * i
        b += c[2] * i
      }
      if (v > ridge[x]!) {
        // The ridge: almost black, lit a little by the sky.
        r = 6 + r * 0.08
        g = 8 + g * 0.08
        b = 14 + b * 0.08
      }
      if (x >= box.x0 && x <= box.x1 && y >= box.y0 && y <= box.y1) {
        const d = polygonDistance(x + 0.5, y + 0.5, bolt)
        if (d <= 0) {
          const core = Math.min(1, -d / (6 * Math.min(sx, sy)))
          r = 255
          g = 236 + 19 * core
          b = 150 + 90 * core
        } else {
          const i = 0.7 * Math.exp(-d / glow)
          r += 255 * i
          g += 210 * i
          b += 110 * i
          if (d < 1.5) {
            // Antialiased edge.
            const a = 1 - d / 1.5
            r = r * (1 - a) + 255 * a
            g = g * (1 - a) + 236 * a
            b = b * (1 - a) + 150 * a
          }
        }
      }
      // A little grain: no banding in the gradients.
      const grain = ((n >>> 8) & 3) - 1.5
      const o = (y * width + x) * 3
      rgb[o] = Math.max(0, Math.min(255, r + grain))
      rgb[o + 1] = Math.max(0, Math.min(255, g + grain))
      rgb[o + 2] = Math.max(0, Math.min(255, b + grain))
    }
  }
  return rgb
}

/** The sample image as a PNG (1280x720 by default). */
export function sampleImage(width = 1280, height = 720): SampleFile {
  return {
    name: 'fulmen.png',
    type: 'image/png',
    bytes: encodePng(width, height, drawAurora(width, height)),
  }
}

/** `size` deterministic, incompressible bytes: the BLAKE3 extendable output of `seed`. */
export async function sampleDownload(
  size = DEFAULT_DOWNLOAD_BYTES,
  seed = 'fulmen sample download',
): Promise<SampleFile> {
  if (!(Number.isSafeInteger(size) && size >= 0))
    throw new RangeError(`a download of ${size} bytes?`)
  await ready()
  return {
    name: 'fulmen-download.bin',
    type: 'application/octet-stream',
    bytes: hash(new TextEncoder().encode(seed), size),
  }
}

/** The committed sample video (scripts/make-sample-video.ts makes it). */
export async function sampleVideo(path = SAMPLE_VIDEO_PATH): Promise<SampleFile> {
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(await readFile(path))
  } catch (error) {
    throw new Error(
      `no sample video at ${path}: run node scripts/make-sample-video.ts (needs ffmpeg)`,
      { cause: error },
    )
  }
  return { name: 'fulmen-sample.webm', type: 'video/webm', bytes }
}

export async function sampleContent(
  options: { downloadBytes?: number } = {},
): Promise<SampleContent> {
  const [video, download] = await Promise.all([
    sampleVideo(),
    sampleDownload(options.downloadBytes),
  ])
  return { image: sampleImage(), video, download }
}
