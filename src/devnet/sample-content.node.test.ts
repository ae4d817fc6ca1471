/**
 * The sample content generators: the PNG encoder's output read back chunk by chunk (CRCs,
 * header, inflated and unfiltered pixels), the download deterministic and the BLAKE3 XOF of
 * its seed, the committed video present and a WebM.
 */
import { crc32, inflateSync } from 'node:zlib'
import { describe, expect, test } from 'vitest'
import { ready } from '../b3/engine.ts'
import { hash } from '../b3/hash.ts'
import { encodePng } from './png.ts'
import { drawAurora, sampleDownload, sampleImage, sampleVideo } from './sample-content.ts'

interface Chunk {
  readonly type: string
  readonly data: Uint8Array
}

/** The chunks of a PNG, each CRC checked. */
function readChunks(png: Uint8Array): Chunk[] {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  const chunks: Chunk[] = []
  for (let at = 8; at < png.length; ) {
    const length = view.getUint32(at)
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8))
    expect(view.getUint32(at + 8 + length), `CRC of ${type}`).toBe(
      crc32(png.subarray(at + 4, at + 8 + length)),
    )
    chunks.push({ type, data: png.subarray(at + 8, at + 8 + length) })
    at += 12 + length
  }
  return chunks
}

/** The RGB pixels of a PNG written by encodePng (every row Sub-filtered). */
function decodeRgb(png: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const chunks = readChunks(png)
  expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND'])
  const ihdr = new DataView(chunks[0]!.data.buffer, chunks[0]!.data.byteOffset, 13)
  const width = ihdr.getUint32(0)
  const height = ihdr.getUint32(4)
  expect([...chunks[0]!.data.subarray(8)]).toEqual([8, 2, 0, 0, 0])
  const raw = inflateSync(chunks[1]!.data)
  const stride = width * 3
  expect(raw.length).toBe((stride + 1) * height)
  const rgb = new Uint8Array(stride * height)
  for (let y = 0; y < height; y++) {
    expect(raw[y * (stride + 1)]).toBe(1)
    for (let x = 0; x < stride; x++) {
      const left = x < 3 ? 0 : rgb[y * stride + x - 3]!
      rgb[y * stride + x] = (raw[y * (stride + 1) + 1 + x]! + left) & 0xff
    }
  }
  return { width, height, rgb }
}

describe('PNG', () => {
  test('encodePng round-trips pixels, 1x1 and odd sizes included', () => {
    for (const [w, h] of [
      [1, 1],
      [3, 2],
      [17, 5],
    ] as const) {
      const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 73 + 11) & 0xff)
      const decoded = decodeRgb(encodePng(w, h, rgb))
      expect(decoded).toEqual({ width: w, height: h, rgb })
    }
  })

  test('refuses a size that does not match the pixels', () => {
    expect(() => encodePng(2, 2, new Uint8Array(11))).toThrow(RangeError)
    expect(() => encodePng(0, 2, new Uint8Array(0))).toThrow(RangeError)
  })

  test('the sample image: 1280x720, several blocks, the same every time', () => {
    const image = sampleImage()
    expect(image).toMatchObject({ name: 'fulmen.png', type: 'image/png' })
    const decoded = decodeRgb(image.bytes)
    expect([decoded.width, decoded.height]).toEqual([1280, 720])
    expect(decoded.rgb).toEqual(drawAurora(1280, 720))
    expect(image.bytes.length).toBeGreaterThan(2 * 262_144)
    expect(sampleImage().bytes).toEqual(image.bytes)
  })
})

describe('download', () => {
  test('the BLAKE3 XOF of its seed: deterministic, any size', async () => {
    await ready()
    const a = await sampleDownload(1_000_003, 'seed')
    expect(a.bytes.length).toBe(1_000_003)
    expect(a.bytes).toEqual(hash(new TextEncoder().encode('seed'), 1_000_003))
    expect((await sampleDownload(1_000_003, 'seed')).bytes).toEqual(a.bytes)
    expect((await sampleDownload(1000, 'other')).bytes).not.toEqual(a.bytes.subarray(0, 1000))
    expect((await sampleDownload(0)).bytes.length).toBe(0)
    await expect(sampleDownload(-1)).rejects.toThrow(RangeError)
  })
})

describe('video', () => {
  test('the committed sample is a WebM of several blocks', async () => {
    const video = await sampleVideo()
    expect(video.type).toBe('video/webm')
    // EBML magic, then the "webm" doctype near the start.
    expect([...video.bytes.subarray(0, 4)]).toEqual([0x1a, 0x45, 0xdf, 0xa3])
    expect(Buffer.from(video.bytes.subarray(0, 64)).includes('webm')).toBe(true)
    expect(video.bytes.length).toBeGreaterThan(4 * 262_144)
  })

  test('a missing file says how to make it', async () => {
    await expect(sampleVideo('/nonexistent/fulmen.webm')).rejects.toThrow(/make-sample-video/)
  })
})
