/**
 * Content-Type from the first bytes of content, for pointers that carry none. Magic numbers
 * first (images, audio, video, documents, wasm), then a look at text: SVG, HTML, XML and JSON
 * by their opening, UTF-8 without control bytes as text/plain, the rest octet-stream. The
 * block cache remembers the answer per content, so a range request that starts mid-file gets
 * the same type without block 0.
 */

export const OCTET_STREAM = 'application/octet-stream'

/** How many leading bytes `sniffContentType` looks at. */
export const SNIFF_LEN = 1024

function startsWith(bytes: Uint8Array, magic: readonly number[], at = 0): boolean {
  if (bytes.length < at + magic.length) return false
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic[i]) return false
  return true
}

function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0))
}

/** ISO-BMFF (`ftyp` box): AVIF/HEIC images or MP4/QuickTime video, by major and compatible brands. */
function isoBmff(bytes: Uint8Array): string | undefined {
  if (!startsWith(bytes, ascii('ftyp'), 4)) return undefined
  const size = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0)
  const brands: string[] = []
  for (let at = 8; at + 4 <= Math.min(bytes.length, Math.max(16, size)); at += 4) {
    if (at === 12) continue // minor version
    brands.push(String.fromCharCode(...bytes.subarray(at, at + 4)))
  }
  if (brands.includes('avif') || brands.includes('avis')) return 'image/avif'
  if (brands[0] === 'heic' || brands[0] === 'heix') return 'image/heic'
  if (brands[0] === 'qt  ') return 'video/quicktime'
  if (brands[0] === 'M4A ') return 'audio/mp4'
  return 'video/mp4'
}

const MAGIC: readonly (readonly [readonly number[], string])[] = [
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'image/png'],
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  [ascii('GIF87a'), 'image/gif'],
  [ascii('GIF89a'), 'image/gif'],
  [ascii('BM'), 'image/bmp'],
  [[0x00, 0x00, 0x01, 0x00], 'image/x-icon'],
  [ascii('%PDF-'), 'application/pdf'],
  [[0x00, 0x61, 0x73, 0x6d], 'application/wasm'],
  [ascii('OggS'), 'audio/ogg'],
  [ascii('fLaC'), 'audio/flac'],
  [ascii('ID3'), 'audio/mpeg'],
  [[0x1f, 0x8b, 0x08], 'application/gzip'],
  [[0x50, 0x4b, 0x03, 0x04], 'application/zip'],
  [ascii('wOFF'), 'font/woff'],
  [ascii('wOF2'), 'font/woff2'],
]

function riff(bytes: Uint8Array): string | undefined {
  if (!startsWith(bytes, ascii('RIFF'))) return undefined
  if (startsWith(bytes, ascii('WEBP'), 8)) return 'image/webp'
  if (startsWith(bytes, ascii('WAVE'), 8)) return 'audio/wav'
  if (startsWith(bytes, ascii('AVI '), 8)) return 'video/x-msvideo'
  return undefined
}

/** EBML: WebM when its DocType says so, else Matroska. */
function ebml(bytes: Uint8Array): string | undefined {
  if (!startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) return undefined
  const head = String.fromCharCode(...bytes.subarray(0, 64))
  return head.includes('webm') ? 'video/webm' : 'video/x-matroska'
}

/** An MPEG audio frame sync (MP3 without an ID3 tag). */
function mpegAudio(bytes: Uint8Array): string | undefined {
  if (bytes.length < 3 || bytes[0] !== 0xff || (bytes[1]! & 0xe0) !== 0xe0) return undefined
  const layer = (bytes[1]! >> 1) & 3
  const bitrate = bytes[2]! >> 4
  return layer !== 0 && bitrate !== 0 && bitrate !== 15 ? 'audio/mpeg' : undefined
}

/** A control byte other than tab, newline, form feed and carriage return: not text. */
function hasControlBytes(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x7f || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d))
      return true
  }
  return false
}

function text(bytes: Uint8Array): string | undefined {
  if (hasControlBytes(bytes)) return undefined
  let decoded: string
  try {
    // Streaming mode: a multi-byte character cut at the sniffing window's end is still text.
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(bytes, {
      stream: bytes.length >= SNIFF_LEN,
    })
  } catch {
    return undefined
  }
  const head = decoded.replace(/^\uFEFF/, '').trimStart()
  const lower = head.slice(0, 256).toLowerCase()
  if (lower.startsWith('<svg') || (lower.startsWith('<?xml') && lower.includes('<svg')))
    return 'image/svg+xml'
  if (/^<!doctype html|^<html|^<head|^<body|^<!--/.test(lower)) return 'text/html; charset=utf-8'
  if (lower.startsWith('<?xml')) return 'application/xml'
  if (/^(\{\s*("|\})|\[\s*([[{"\]\d-]|true|false|null))/.test(head)) return 'application/json'
  return 'text/plain; charset=utf-8'
}

/**
 * The media type of content that starts with `head` (pass at least `SNIFF_LEN` bytes when
 * there are that many). Empty content is `application/octet-stream`.
 */
export function sniffContentType(head: Uint8Array): string {
  const bytes = head.subarray(0, SNIFF_LEN)
  if (bytes.length === 0) return OCTET_STREAM
  // Boxes and chunks first: an MP4 whose `ftyp` is 256 bytes starts like an icon.
  const container = riff(bytes) ?? isoBmff(bytes) ?? ebml(bytes)
  if (container !== undefined) return container
  for (const [magic, type] of MAGIC) if (startsWith(bytes, magic)) return type
  return mpegAudio(bytes) ?? text(bytes) ?? OCTET_STREAM
}
