/**
 * Fulmen's version for `fulmen --version` and `--help`, read from its package.json at run
 * time: the CLI runs from `src/` and, installed, from the compiled tree, at different depths
 * below the package root, so a fixed relative JSON import cannot serve both.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FulmenError } from '../../core/errors.ts'

/** The package.json has no version, or none named "fulmen" is above the CLI. */
export class VersionError extends FulmenError<'CLI_NO_VERSION'> {
  override readonly name = 'VersionError'

  constructor(message: string) {
    super('CLI_NO_VERSION', message)
  }
}

function readPackageJson(file: string): { name?: unknown; version?: unknown } | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
  return JSON.parse(text) as { name?: unknown; version?: unknown }
}

/**
 * The version in the nearest package.json named "fulmen" in `startDir` or above (by default
 * this file's directory). Others on the way (a build's `{"type": "module"}`, a workspace's)
 * are passed over.
 */
export function fulmenVersion(startDir = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = startDir; ; ) {
    const file = join(dir, 'package.json')
    const pkg = readPackageJson(file)
    if (pkg?.name === 'fulmen') {
      if (typeof pkg.version !== 'string') throw new VersionError(`${file} has no version`)
      return pkg.version
    }
    const parent = dirname(dir)
    if (parent === dir) throw new VersionError(`no package.json named "fulmen" above ${startDir}`)
    dir = parent
  }
}
