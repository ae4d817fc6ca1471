/**
 * Many distinct contents for the browser tests of many fetches at once (Node side, made by the
 * global setup): `GALLERY_IMAGES` PNG images of noise, each its own height (9 KiB to two
 * 256 KiB blocks), and an HTML page whose `<img>` name the first `GALLERY_PAGE_IMAGES` of them
 * by their hex root as a relative URL, so the page and its images resolve under whatever
 * prefix serves the page (the service worker's).
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { hash } from '../../b3/hash.ts'
import { seededContent } from '../../b3/testing/content.ts'
import { encodePng } from '../../devnet/png.ts'

export const GALLERY_IMAGES = 64
export const GALLERY_PAGE_IMAGES = 48
export const GALLERY_IMAGE_WIDTH = 96

export interface GalleryFile {
  readonly name: string
  readonly bytes: Uint8Array
  readonly hex: string
}

export interface GalleryImage extends GalleryFile {
  readonly width: number
  readonly height: number
}

/** Image `i`: 96 × (32 + 24 i) pixels of noise (incompressible: its PNG is as big as its pixels). */
export function galleryImage(i: number): GalleryImage {
  const width = GALLERY_IMAGE_WIDTH
  const height = 32 + 24 * i
  const bytes = encodePng(width, height, seededContent(width * height * 3, 0x1a6e + i))
  return { name: `image-${i}.png`, bytes, hex: bytesToHex(hash(bytes)), width, height }
}

/** The page showing `images` in order, each `<img>` with its hex root as `src` and `id`. */
export function galleryPage(images: readonly GalleryImage[]): GalleryFile {
  const tags = images.map(
    (image) =>
      `<img id="i${image.hex}" src="${image.hex}" width="${image.width}" height="${image.height}">`,
  )
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>Fulmen gallery</title></head>
<body>
${tags.join('\n')}
</body></html>
`
  const bytes = new TextEncoder().encode(html)
  return { name: 'gallery.html', bytes, hex: bytesToHex(hash(bytes)) }
}
