/** Structured logs: pino, JSON lines on stderr (stdout stays free for command output). */
import { type Logger, pino } from 'pino'
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
