/**
 * Structured logs on a node: pino, JSON lines on stderr (stdout stays free for command output).
 * A pino logger is the core `Logger` (src/core/logger.ts) as it is; parts take that interface.
 */
import { pino } from 'pino'
import type { Logger } from '../core/logger.ts'
import type { NodeConfig } from './config.ts'

export type { Logger }

export function createLogger(
  level: NodeConfig['logLevel'],
  bindings: Record<string, unknown> = {},
): Logger {
  return pino(
    { level, base: { pid: process.pid, ...bindings } },
    pino.destination({ fd: 2, sync: false }),
  )
}
