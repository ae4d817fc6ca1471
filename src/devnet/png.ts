/**
 * A minimal PNG encoder for generated test images: 8-bit RGB, one IDAT, every scanline with
 * the Sub filter (neighbouring pixels of a gradient differ little, so it deflates well).
 * Only what `sample-content.ts` needs: no palette, no alpha, no interlacing.
 */
import { crc32, deflateSync } from 'node:zlib'

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)
/** IHDR colour type 2: truecolour (RGB). */
const COLOR_RGB = 2
/** Scanline filter 1: each byte minus the same channel of the pixel to its left. */
const FILTER_SUB = 1

/** length · type · data · CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

/** `rgb`: width × height pixels, 3 bytes each, row by row from the top. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0))
    throw new RangeError(`a PNG is at least 1x1 pixels, not ${width}x${height}`)
  const stride = width * 3
  if (rgb.length !== stride * height)
    throw new RangeError(`${width}x${height} RGB is ${stride * height} bytes, got ${rgb.length}`)
  const header = new Uint8Array(13)
  const view = new DataView(header.buffer)
  view.setUint32(0, width)
  view.setUint32(4, height)
  header[8] = 8 // bits per channel
  header[9] = COLOR_RGB
  // compression 0, filter method 0, no interlace: the zeros already there
  const raw = new Uint8Array((stride + 1) * height)
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1)
    const src = y * stride
    raw[row] = FILTER_SUB
    for (let x = 0; x < stride; x++) {
      const left = x < 3 ? 0 : rgb[src + x - 3]!
      raw[row + 1 + x] = (rgb[src + x]! - left) & 0xff
    }
  }
  const parts = [
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}
