/** How the page spells sizes, rates, durations and ids. */

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}

export function formatRate(bytes: number, ms: number): string {
  return ms <= 0 ? '—' : `${(bytes / 1048576 / (ms / 1000)).toFixed(1)} MiB/s`
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '—'
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`
}

/** `bafkr4ihd…q2yu`: enough to tell ids apart at a glance; the full id is one click away. */
export function shortId(id: string, head = 10, tail = 6): string {
  return id.length <= head + tail + 1 ? id : `${id.slice(0, head)}…${id.slice(-tail)}`
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** A key's short fingerprint, grouped like an SSH one: `3f9a·c210·77e1`. */
export function fingerprint(key: Uint8Array): string {
  return toHex(key.subarray(0, 6)).match(/.{4}/g)?.join('·') ?? ''
}

export function plural(n: number, word: string): string {
  return `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`
}
