import { describe, expect, it } from 'vitest'
import { OCTET_STREAM, sniffContentType } from './content-type.ts'

const bytes = (...parts: (string | number[])[]) =>
  Uint8Array.from(
    parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)),
  )
const text = (s: string) => new TextEncoder().encode(s)

describe('sniffContentType', () => {
  it('knows images, audio, video and documents by their magic numbers', () => {
    const cases: [Uint8Array, string][] = [
      [bytes([0x89], 'PNG\r\n', [0x1a, 0x0a, 0, 0, 0, 13], 'IHDR'), 'image/png'],
      [bytes([0xff, 0xd8, 0xff, 0xe0]), 'image/jpeg'],
      [bytes('GIF89a', [1, 0]), 'image/gif'],
      [bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 '), 'image/webp'],
      [bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt '), 'audio/wav'],
      [bytes([0, 0, 0, 0x1c], 'ftypavif', [0, 0, 0, 0], 'avifmif1miaf'), 'image/avif'],
      [bytes([0, 0, 0, 0x18], 'ftypisom', [0, 0, 2, 0], 'isomiso2'), 'video/mp4'],
      [bytes([0, 0, 1, 0], 'ftypmp42', [0, 0, 0, 0], 'mp42isom'), 'video/mp4'],
      [bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84], 'webm'), 'video/webm'],
      [bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], 'matroska'), 'video/x-matroska'],
      [bytes('OggS', [0, 2]), 'audio/ogg'],
      [bytes('ID3', [4, 0]), 'audio/mpeg'],
      [bytes([0xff, 0xfb, 0x90, 0x64]), 'audio/mpeg'],
      [bytes('%PDF-1.7\n'), 'application/pdf'],
      [bytes([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), 'application/wasm'],
      [bytes([0, 0, 1, 0, 1, 0, 16, 16]), 'image/x-icon'],
    ]
    for (const [head, type] of cases) expect(sniffContentType(head), type).toBe(type)
  })

  it('reads text: SVG, HTML, XML, JSON, plain', () => {
    expect(sniffContentType(text('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBe(
      'image/svg+xml',
    )
    expect(sniffContentType(text('<?xml version="1.0"?>\n<svg/>'))).toBe('image/svg+xml')
    expect(sniffContentType(text('\uFEFF  <!DOCTYPE html><p>'))).toBe('text/html; charset=utf-8')
    expect(sniffContentType(text('<?xml version="1.0"?><feed/>'))).toBe('application/xml')
    expect(sniffContentType(text('{"a": [1, 2]}'))).toBe('application/json')
    expect(sniffContentType(text(`[${'1,'.repeat(2000)}1]`))).toBe('application/json')
    expect(sniffContentType(text('héllo, world\n'))).toBe('text/plain; charset=utf-8')
    // A character cut at the window's end is still text.
    expect(sniffContentType(text('é'.repeat(600)).subarray(0, 1025))).toBe(
      'text/plain; charset=utf-8',
    )
  })

  it('calls everything else octet-stream', () => {
    expect(sniffContentType(new Uint8Array(0))).toBe(OCTET_STREAM)
    expect(sniffContentType(bytes([0, 1, 2, 3, 4, 5]))).toBe(OCTET_STREAM)
    expect(sniffContentType(bytes([0xc3, 0x28, 0x41]))).toBe(OCTET_STREAM)
  })
})
