/**
 * When a process-level test fails, what the nodes said is the first thing one wants: this
 * prints the last log lines of each node (their stderr) after a failed test.
 */
import { afterEach } from 'vitest'
import type { NodeProcess } from '../../devnet/processes.ts'

export function printNodeLogsOnFailure(
  nodes: () => readonly (NodeProcess | undefined)[],
  lines = 60,
): void {
  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail') return
    for (const node of nodes()) {
      if (node === undefined) continue
      const tail = node.stderr().trimEnd().split('\n').slice(-lines).join('\n')
      process.stderr.write(
        `--- last log lines of node ${node.pid} (${node.dataDir}) ---\n${tail}\n`,
      )
    }
  })
}
