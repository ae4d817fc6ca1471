/** Runs a bench script in a fresh Node process on a JSON job; its last stdout line is the result. */
import { spawn } from 'node:child_process'
import path from 'node:path'

export async function runJsonChild<T>(
  script: string,
  job: object,
  execArgv: readonly string[] = [],
): Promise<T> {
  const child = spawn(process.execPath, [...execArgv, script, JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0) throw new Error(`${path.basename(script)} failed (exit ${code})`)
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as T
}
