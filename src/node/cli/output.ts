/**
 * Printing: writes that respect stdout's backpressure (a tree listing can be millions of
 * lines), hex, and b3sum's way of naming files.
 */
/** Writes `text`, waiting for the stream to drain when its buffer is full. */
export async function write(
  text: string,
  stream: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  if (!stream.write(text)) {
    await new Promise<void>((resolve) => stream.once('drain', resolve))
  }
}

/** Writes many lines, in batches of about 64 KiB. */
export async function writeLines(
  lines: Iterable<string>,
  stream: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  let batch = ''
  for (const line of lines) {
    batch += `${line}\n`
    if (batch.length >= 65_536) {
      await write(batch, stream)
      batch = ''
    }
  }
  if (batch !== '') await write(batch, stream)
}

/**
 * Lowercase hex of any bytes, by Node's Buffer: the CLI's start-up then reads no package
 * for `--help` or `hash` (a package's resolution alone costs milliseconds there).
 */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/**
 * A `b3sum` output line. As b3sum does, a name holding a backslash or a newline is escaped
 * (`\\`, `\n`) and the line then starts with a backslash.
 */
export function checksumLine(root: Uint8Array, name: string): string {
  if (name.includes('\\') || name.includes('\n')) {
    const escaped = name.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')
    return `\\${hex(root)}  ${escaped}`
  }
  return `${hex(root)}  ${name}`
}
