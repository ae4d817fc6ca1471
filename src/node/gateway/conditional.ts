/**
 * Conditional GET (RFC 9110 §13.1.2): whether `If-None-Match` matches the content's ETag, so
 * that a cache revalidating immutable content gets a 304 and no body. Content ids name the bytes,
 * so the weak comparison the RFC asks for here is plain equality of the opaque tags.
 */

/** Whether the `If-None-Match` header value `header` matches `etag` (a quoted strong tag). */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  const value = header.trim()
  if (value === '*') return true
  for (const item of value.split(',')) {
    const tag = item.trim()
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === etag) return true
  }
  return false
}
