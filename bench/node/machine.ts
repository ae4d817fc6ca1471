/** What the figures were measured on. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'

export interface Machine {
  readonly cpu: string
  /** x86 SIMD extensions reported by the kernel (what b3sum can use). */
  readonly simd: string[]
  readonly cores: number
  readonly memoryGiB: number
  readonly os: string
  readonly node: string
  readonly b3sum: string
  readonly packages: Record<string, string>
  chromium?: string
}

function cpuModel(): { model: string; flags: string[] } {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8')
    const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim()
    const flags = /^flags\s*:\s*(.+)$/m.exec(info)?.[1]?.split(/\s+/) ?? []
    if (model) return { model, flags }
  } catch {}
  return { model: os.cpus()[0]?.model ?? 'unknown', flags: [] }
}

function packageVersion(name: string): string {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url)
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}

export function describeMachine(): Machine {
  const { model, flags } = cpuModel()
  let b3sum = 'not found'
  try {
    b3sum = execFileSync('b3sum', ['--version'], { encoding: 'utf8' }).trim()
  } catch {}
  return {
    cpu: model,
    simd: ['sse4_1', 'avx2', 'avx512f', 'avx512vl'].filter((f) => flags.includes(f)),
    cores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    b3sum,
    packages: Object.fromEntries(
      ['hash-wasm', '@noble/hashes', 'comlink', 'vite', 'playwright'].map((p) => [
        p,
        packageVersion(p),
      ]),
    ),
  }
}
