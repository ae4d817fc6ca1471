/** Peak memory of hashing a 1 GiB stream, measured in a fresh process (memory-child.ts). */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type Figure, GiB, MiB } from '../shared.ts'

interface ChildReport {
  bytes: number
  seconds: number
  baselineRss: number
  sampledPeakGrowth: number
  hwmGrowth: number | null
  heapGrowth: number
}

export function measureMemory(log: (line: string) => void, bytes = GiB): Figure[] {
  const child = fileURLToPath(new URL('./memory-child.ts', import.meta.url))
  const out = execFileSync(process.execPath, ['--expose-gc', child, String(bytes), '65536'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const r = JSON.parse(out) as ChildReport
  log(
    `1 GiB stream: peak RSS +${(r.sampledPeakGrowth / MiB).toFixed(1)} MiB sampled, ` +
      `${r.hwmGrowth === null ? 'no VmHWM' : `+${(r.hwmGrowth / MiB).toFixed(1)} MiB VmHWM`}, ` +
      `baseline ${(r.baselineRss / MiB).toFixed(0)} MiB`,
  )
  const figures: Figure[] = [
    { name: 'node.memory.input', value: r.bytes / MiB, unit: 'MiB' },
    { name: 'node.memory.peak-rss-growth', value: r.sampledPeakGrowth / MiB, unit: 'MiB' },
  ]
  if (r.hwmGrowth !== null)
    figures.push({
      name: 'node.memory.peak-rss-growth-vmhwm',
      value: r.hwmGrowth / MiB,
      unit: 'MiB',
    })
  figures.push(
    { name: 'node.memory.baseline-rss', value: r.baselineRss / MiB, unit: 'MiB' },
    { name: 'node.memory.throughput', value: r.bytes / MiB / r.seconds, unit: 'MiB/s' },
  )
  return figures
}
