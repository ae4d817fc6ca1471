/**
 * Reading an import's source, the same way in every store: each item raced against the
 * import's signal (a stalled source must not hold an aborted import), and the source told to
 * stop when the store gives up on it.
 */

/** The iterator's next item, or the signal's reason as soon as it aborts. */
export function nextOrAbort<T>(
  iterator: AsyncIterator<T>,
  signal: AbortSignal | undefined,
): Promise<IteratorResult<T>> {
  if (signal === undefined) return iterator.next()
  signal.throwIfAborted()
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    iterator.next().then(
      (r) => {
        signal.removeEventListener('abort', onAbort)
        resolve(r)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}

/** Tells a source it will not be read further (cancels a stream, finishes a generator). */
export function stopSource(iterator: AsyncIterator<unknown>): void {
  try {
    void Promise.resolve(iterator.return?.()).catch(() => {})
  } catch {
    // A source that cannot be stopped is left alone.
  }
}
