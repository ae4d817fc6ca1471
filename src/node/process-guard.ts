/**
 * The full node's last line of defence: a rejection nothing handled, or an exception thrown
 * from a callback, would end a Node 24 process, and with it every session, download and
 * import the node serves. `fulmen node start` installs this guard once the node runs: it logs
 * what escaped (structured, with where it came from), counts it in
 * `fulmen_unexpected_errors_total{kind}`, and the node keeps serving. Each of these is a bug to
 * fix (every input is meant to be handled where it is read); the guard only keeps one bug from
 * becoming an outage.
 *
 * Installed by the CLI, not by `startFullNode`: process-wide handlers belong to the process's
 * owner (tests run several nodes in one process).
 */
import type { Logger } from './logger.ts'
import type { NodeMetrics } from './metrics.ts'

export type UnexpectedKind = 'unhandledRejection' | 'uncaughtException'

export interface ProcessGuardOptions {
  readonly logger: Logger
  readonly metrics: Pick<NodeMetrics, 'unexpectedErrors'>
  /** The process whose events are watched (default: this one). */
  readonly process?: Pick<NodeJS.Process, 'on' | 'off'>
}

/** Installs the guard; returns what uninstalls it. */
export function installProcessGuard(options: ProcessGuardOptions): () => void {
  const target = options.process ?? process
  const log = options.logger.child({ component: 'process-guard' })

  const report = (kind: UnexpectedKind, error: unknown, origin?: string) => {
    try {
      options.metrics.unexpectedErrors.labels(kind).inc()
      log.error({ err: error, kind, origin }, 'unexpected error; the node keeps serving')
    } catch (failure) {
      // The logger itself failed (a serializer on a hostile object…): still never exit here.
      try {
        process.stderr.write(`fulmen: unexpected ${kind}: ${String(error)} (${String(failure)})\n`)
      } catch {}
    }
  }
  const onRejection = (reason: unknown) => report('unhandledRejection', reason)
  const onException = (error: Error, origin: string) => report('uncaughtException', error, origin)

  target.on('unhandledRejection', onRejection)
  target.on('uncaughtException', onException)
  return () => {
    target.off('unhandledRejection', onRejection)
    target.off('uncaughtException', onException)
  }
}
