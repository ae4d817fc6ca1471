/**
 * The real `fulmen` CLI, run as a child process (process.execPath: the Node 24 that runs
 * vitest, which strips the types of fulmen.ts) on temporary files, checked against the
 * committed BLAKE3 vectors, two other BLAKE3 implementations (hash-wasm and @noble/hashes, so no
 * b3sum binary is needed) and the library itself. `fulmen hash` prints what b3sum 1.2 prints:
 * the expected lines below, escapes included, were recorded from it.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { contentIdSpellings } from '../../b3/content-id.ts'
import { initialProof, resumeProof } from '../../b3/proof.ts'
import { hex, vectorContent } from '../../b3/testing/kernels.ts'
import { referenceBlake3Hex } from '../../b3/testing/reference-blake3.ts'
import { treeOf } from '../../b3/tree.ts'
import official from '../../b3/vectors/blake3-official.json' with { type: 'json' }
import treeVectors from '../../b3/vectors/blake3-tree.json' with { type: 'json' }
import { formatBytes, PROGRESS_MIN_BYTES, startProgress } from './progress.ts'

const CLI = fileURLToPath(new URL('./fulmen.ts', import.meta.url))
const PACKAGE_JSON = fileURLToPath(new URL('../../../package.json', import.meta.url))
const BLOCK = 262_144
const SIZES = [0, 1, 1024, 1025, 262_144, 262_145, 3 * 2 ** 20 + 7]

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

let dir = ''

function run(file: string, args: readonly string[], input?: Uint8Array): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: dir })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
    // A child that fails before reading its input closes the pipe: not our error.
    child.stdin.on('error', () => {})
    child.stdin.end(input)
  })
}

function fulmen(args: readonly string[], input?: Uint8Array): Promise<Run> {
  return run(process.execPath, [CLI, ...args], input)
}

/** Deterministic bytes that are not a repeating pattern (xorshift32). */
function content(length: number, seed = length + 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed | 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

function sizeFile(size: number): string {
  return `size-${size}.bin`
}

/** b3sum's line for a plain name: the reference hash, two spaces, the name. */
async function expectedLine(data: Uint8Array, name: string): Promise<string> {
  return `${await referenceBlake3Hex(data)}  ${name}\n`
}

function treeHashes(data: Uint8Array): string[] {
  const { hashes } = treeOf(data)
  const out: string[] = []
  for (let i = 0; i < hashes.length; i += 32) out.push(hex(hashes.subarray(i, i + 32)))
  return out
}

/** Expected failures print exactly one line and no stack trace. */
function expectOneLineError(r: Run, pattern: RegExp): void {
  expect(r.stderr).toMatch(/^fulmen: [^\n]+\n$/)
  expect(r.stderr).toMatch(pattern)
  expect(r.stderr).not.toMatch(/\n\s+at /)
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-cli-'))
  for (const size of SIZES) writeFileSync(join(dir, sizeFile(size)), content(size))
})

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

test('the CLI runs under a Node that strips types', async () => {
  expect(process.features.typescript, `Node ${process.version} cannot run fulmen.ts`).toBeTruthy()
  const r = await fulmen(['--version'])
  expect(r.stderr).toBe('')
  expect(r.status).toBe(0)
})

describe.concurrent('fulmen hash prints what b3sum prints', () => {
  test.each(SIZES)('%i bytes', async (size) => {
    const ours = await fulmen(['hash', sizeFile(size)])
    expect(ours.stderr).toBe('')
    expect(ours.status).toBe(0)
    expect(ours.stdout).toBe(await expectedLine(content(size), sizeFile(size)))
    expect(ours.stdout).toMatch(/^[0-9a-f]{64} {2}size-\d+\.bin\n$/)
  })

  test('the committed vectors: official BLAKE3 lengths and Fleek tree roots at block edges', async () => {
    // Vector content is byte o = o % 251; tree cases up to 4.25 MiB (17 blocks) are enough
    // to cross every block edge the larger ones do.
    const cases = [
      ...official.cases.map((c) => ({ len: c.input_len, hash: c.hash.slice(0, 64) })),
      ...treeVectors.cases
        .filter((c) => c.len <= 17 * BLOCK)
        .map((c) => ({ len: c.len, hash: c.root })),
    ]
    const files = cases.map(({ len }, i) => {
      const name = `vector-${i}-${len}.bin`
      writeFileSync(join(dir, name), vectorContent(len))
      return name
    })
    const ours = await fulmen(['hash', ...files])
    expect(ours.stderr).toBe('')
    expect(ours.status).toBe(0)
    expect(ours.stdout).toBe(cases.map(({ hash }, i) => `${hash}  ${files[i]}\n`).join(''))
    // The reference implementations agree with the vectors too (what the other tests lean on).
    for (const { len, hash } of cases.filter((c) => c.len <= 2 * BLOCK + 1))
      expect(await referenceBlake3Hex(vectorContent(len)), `${len} bytes`).toBe(hash)
  })

  test('many files in one call', async () => {
    const files = SIZES.map(sizeFile)
    const ours = await fulmen(['hash', ...files])
    expect(ours.status).toBe(0)
    const lines = await Promise.all(
      SIZES.map((size) => expectedLine(content(size), sizeFile(size))),
    )
    expect(ours.stdout).toBe(lines.join(''))
    expect(ours.stdout.split('\n')).toHaveLength(files.length + 1)
  })

  test('stdin: no argument and -', async () => {
    const input = content(3 * 2 ** 20 + 7)
    const line = await expectedLine(input, '-')
    expect((await fulmen(['hash'], input)).stdout).toBe(line)
    expect((await fulmen(['hash', '-'], input)).stdout).toBe(line)
  })

  test('stdin given twice reads it once, like b3sum: the second - is empty', async () => {
    const input = content(5000)
    expect((await fulmen(['hash', '-', '-'], input)).stdout).toBe(
      (await expectedLine(input, '-')) + (await expectedLine(new Uint8Array(0), '-')),
    )
  })

  test('names with a backslash or a newline are escaped like b3sum does', async () => {
    const names = ['back\\slash.bin', 'new\nline.bin', 'plain name.bin']
    for (const name of names) writeFileSync(join(dir, name), content(77))
    const ours = await fulmen(['hash', ...names])
    expect(ours.status).toBe(0)
    const h = await referenceBlake3Hex(content(77))
    // b3sum 1.2: the line starts with a backslash, `\` and newline spelled `\\` and `\n`.
    expect(ours.stdout).toBe(
      `\\${h}  back\\\\slash.bin\n\\${h}  new\\nline.bin\n${h}  plain name.bin\n`,
    )
  })

  test('a missing file fails alone: the others are hashed, exit code 1', async () => {
    const files = [sizeFile(1), 'missing.bin', sizeFile(1025)]
    const ours = await fulmen(['hash', ...files])
    expect(ours.status).toBe(1)
    expect(ours.stdout).toBe(
      (await expectedLine(content(1), sizeFile(1))) +
        (await expectedLine(content(1025), sizeFile(1025))),
    )
    expectOneLineError(ours, /^fulmen: missing\.bin: no such file or directory\n$/)
  })

  test('a directory is reported, exit code 1', async () => {
    mkdirSync(join(dir, 'a-directory'), { recursive: true })
    const ours = await fulmen(['hash', 'a-directory'])
    expect(ours.status).toBe(1)
    expect(ours.stdout).toBe('')
    expectOneLineError(ours, /a-directory: is a directory/)
  })
})

describe.concurrent('fulmen tree', () => {
  test.each(SIZES)('--json for %i bytes matches treeOf and the hash', async (size) => {
    const data = content(size)
    const r = await fulmen(['tree', sizeFile(size), '--json'])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout.endsWith('\n')).toBe(true)
    const json = JSON.parse(r.stdout)
    expect(Object.keys(json)).toEqual(['root', 'blocks', 'length', 'tree'])
    const hashLine = (await fulmen(['hash', sizeFile(size)])).stdout
    expect(hashLine).toBe(`${json.root}  ${sizeFile(size)}\n`)
    const tree = treeOf(data)
    expect(json.root).toBe(hex(tree.root))
    expect(json.blocks).toBe(tree.blocks)
    expect(json.length).toBe(size)
    expect(json.tree).toEqual(treeHashes(data))
    expect(json.tree.at(-1)).toBe(json.root)
  })

  test('--json from stdin', async () => {
    const data = content(2 * BLOCK + 3)
    const json = JSON.parse((await fulmen(['tree', '-', '--json'], data)).stdout)
    expect(json.tree).toEqual(treeHashes(data))
  })

  test('the listing names every block and parent', async () => {
    const size = 3 * 2 ** 20 + 7
    const data = content(size)
    const r = await fulmen(['tree', sizeFile(size)])
    expect(r.status).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    const tree = treeOf(data)
    expect(lines[0]).toBe(`root    ${hex(tree.root)}`)
    expect(lines[1]).toBe(`length  ${size}`)
    expect(lines[2]).toBe(`blocks  ${tree.blocks}`)
    const entries = lines.slice(4)
    const hashes = treeHashes(data)
    expect(entries).toHaveLength(hashes.length)
    entries.forEach((line, i) => {
      expect(line).toMatch(
        new RegExp(`^\\s*${i}\\s+(block \\d+|parent)( \\(root\\))?\\s+${hashes[i]}$`),
      )
    })
    expect(entries.filter((l) => /\bblock \d+/.test(l))).toHaveLength(tree.blocks)
    expect(entries.at(-1)).toMatch(/parent \(root\)/)
    expect(entries[0]).toMatch(/^\s*0\s+block 0\s/)
  })

  test('a single block is both block 0 and the root', async () => {
    const r = await fulmen(['tree', sizeFile(0)])
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^0 {2}block 0 \(root\) {2}af1349b9/)
  })

  test('needs exactly one file', async () => {
    expect((await fulmen(['tree'])).status).toBe(2)
    expect((await fulmen(['tree', sizeFile(0), sizeFile(1)])).status).toBe(2)
  })
})

describe.concurrent('fulmen proof', () => {
  const fiveBlocks = 'five-blocks.bin'
  const data = content(4 * BLOCK + 1000, 99)
  const tree = treeOf(data)

  beforeAll(() => writeFileSync(join(dir, fiveBlocks), data))

  test('the file has five blocks', () => {
    expect(tree.blocks).toBe(5)
  })

  test.each([0, 1, 2, 3, 4])('initial proof of block %i', async (k) => {
    const r = await fulmen(['proof', fiveBlocks, '--block', String(k)])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(`${hex(initialProof(tree, k))}\n`)
  })

  test.each([1, 2, 3, 4])('resume proof of block %i', async (k) => {
    const r = await fulmen(['proof', fiveBlocks, '--block', String(k), '--resume'])
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(`${hex(resumeProof(tree, k))}\n`)
  })

  test('an empty proof is an empty line', async () => {
    // After block 3, block 4 is the root's whole right subtree: nothing to prove.
    expect(resumeProof(tree, 4)).toHaveLength(0)
    expect((await fulmen(['proof', fiveBlocks, '--block', '4', '--resume'])).stdout).toBe('\n')
    expect((await fulmen(['proof', sizeFile(1), '--block', '0'])).stdout).toBe('\n')
  })

  test('--block=K and stdin work too', async () => {
    const r = await fulmen(['proof', '-', '--block=2'], data)
    expect(r.stdout).toBe(`${hex(initialProof(tree, 2))}\n`)
  })

  test('a block past the end: exit 1, with the error code', async () => {
    const r = await fulmen(['proof', fiveBlocks, '--block', '5'])
    expect(r.status).toBe(1)
    expect(r.stdout).toBe('')
    expectOneLineError(r, /block 5 is outside 0\.\.4.*B3_INVALID_ARGUMENT/)
  })

  test('a block past the end of stdin: exit 1', async () => {
    const r = await fulmen(['proof', '-', '--block', '9'], data)
    expect(r.status).toBe(1)
    expectOneLineError(r, /block 9 is outside 0\.\.4.*B3_INVALID_ARGUMENT/)
  })

  test.each([
    ['--resume with block 0', ['--block', '0', '--resume'], /block 0 has no resume proof/],
    ['no --block', [], /missing --block/],
    ['a word for K', ['--block', 'two'], /block index/],
    ['a negative K', ['--block=-1'], /block index/],
    ['a fractional K', ['--block', '1.5'], /block index/],
    ['an unknown option', ['--block', '1', '--initial'], /unknown option '--initial'/],
  ])('usage error: %s (exit 2)', async (_, args, message) => {
    const r = await fulmen(['proof', fiveBlocks, ...args])
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expectOneLineError(r, message)
  })

  test('a missing file: exit 1', async () => {
    const r = await fulmen(['proof', 'nope.bin', '--block', '0'])
    expect(r.status).toBe(1)
    expectOneLineError(r, /nope\.bin: no such file or directory/)
  })
})

describe.concurrent('fulmen cid', () => {
  const root = treeOf(content(1025)).root
  const ids = contentIdSpellings(root)

  test('prints all three spellings, labelled', async () => {
    for (const input of [ids.hex, ids.hex.toUpperCase(), ids.blake3, ids.cid]) {
      const r = await fulmen(['cid', input])
      expect(r.status).toBe(0)
      expect(r.stdout).toBe(`hex     ${ids.hex}\nblake3  ${ids.blake3}\ncid     ${ids.cid}\n`)
    }
  })

  test('--to converts to one spelling', async () => {
    expect((await fulmen(['cid', ids.hex, '--to', 'cid'])).stdout).toBe(`${ids.cid}\n`)
    expect((await fulmen(['cid', ids.cid, '--to', 'hex'])).stdout).toBe(`${ids.hex}\n`)
    expect((await fulmen(['cid', ids.cid, '--to=blake3'])).stdout).toBe(`${ids.blake3}\n`)
    expect((await fulmen(['cid', ids.blake3, '--to', 'blake3'])).stdout).toBe(`${ids.blake3}\n`)
  })

  test('the hash of a file, as a CID', async () => {
    const hexRoot = (await fulmen(['hash', sizeFile(0)])).stdout.slice(0, 64)
    expect((await fulmen(['cid', hexRoot, '--to', 'cid'])).stdout).toBe(
      'bafkr4ifpcne3t5pzugtkaqcn5i3nzskjtpfslsnnyejlpte2spfoihzsmi\n',
    )
  })

  test('other multibases are read', async () => {
    const cid = CID.parse(ids.cid)
    for (const base of [base58btc, base36]) {
      const r = await fulmen(['cid', cid.toString(base), '--to', 'hex'])
      expect(r.status).toBe(0)
      expect(r.stdout).toBe(`${ids.hex}\n`)
    }
  })

  test('a bad id: exit 1 with B3_BAD_CONTENT_ID', async () => {
    for (const bad of ['xyz', ids.hex.slice(1), 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG']) {
      const r = await fulmen(['cid', bad])
      expect(r.status).toBe(1)
      expect(r.stdout).toBe('')
      expectOneLineError(r, /B3_BAD_CONTENT_ID/)
    }
  })

  test('usage errors: exit 2', async () => {
    expect((await fulmen(['cid'])).status).toBe(2)
    expect((await fulmen(['cid', ids.hex, ids.hex])).status).toBe(2)
    const r = await fulmen(['cid', ids.hex, '--to', 'base58'])
    expect(r.status).toBe(2)
    expectOneLineError(r, /--to wants one of hex, blake3, cid/)
  })
})

describe.concurrent('help, version and usage errors', () => {
  const version = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')).version as string

  test('--version and -V', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await fulmen([flag])
      expect(r.status).toBe(0)
      expect(r.stdout).toBe(`fulmen ${version}\n`)
    }
  })

  test('--help, -h and help list every command', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = await fulmen(args)
      expect(r.status).toBe(0)
      expect(r.stderr).toBe('')
      for (const name of [
        'hash',
        'tree',
        'proof',
        'cid',
        'keys',
        'tx',
        'state',
        'chain',
        'devnet',
        'help',
      ]) {
        expect(r.stdout).toMatch(new RegExp(`^ {2}${name}\\s`, 'm'))
      }
    }
  })

  test.each(['hash', 'tree', 'proof', 'cid', 'keys', 'tx', 'state', 'chain', 'devnet'])(
    'help %s, and --help after the command',
    async (name) => {
      const a = await fulmen(['help', name])
      const b = await fulmen([name, '--help'])
      const c = await fulmen([name, 'whatever', '-h'])
      expect(a.status).toBe(0)
      expect(a.stdout).toMatch(new RegExp(`^Usage: fulmen ${name}`))
      expect(b.stdout).toBe(a.stdout)
      expect(c.stdout).toBe(a.stdout)
    },
  )

  test('no command: usage on stderr, exit 2', async () => {
    const r = await fulmen([])
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/Usage: fulmen <command>/)
  })

  test.each([
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['help for an unknown command', ['help', 'frobnicate'], /unknown command 'frobnicate'/],
    ['an option before the command', ['--fast', 'hash'], /unknown option '--fast'/],
    ['an unknown option of a command', ['hash', '--length', '64'], /unknown option '--length'/],
  ])('%s: exit 2', async (_, args, message) => {
    const r = await fulmen(args)
    expect(r.status).toBe(2)
    expect(r.stdout).toBe('')
    expectOneLineError(r, message)
  })

  test('-- ends the options', async () => {
    writeFileSync(join(dir, '--help'), content(10))
    expect((await fulmen(['hash', '--', '--help'])).stdout).toBe(
      await expectedLine(content(10), '--help'),
    )
  })
})

describe('progress bar', () => {
  class Capture extends Writable {
    text = ''
    isTTY: boolean
    columns = 120
    constructor(isTTY: boolean) {
      super()
      this.isTTY = isTTY
    }
    override _write(chunk: Buffer, _: BufferEncoding, done: () => void): void {
      this.text += chunk.toString()
      done()
    }
  }

  function drive(isTTY: boolean, total: number | undefined): string {
    const stream = new Capture(isTTY)
    const progress = startProgress('big.bin', total, stream as unknown as NodeJS.WriteStream)
    progress.update((total ?? 0) / 2)
    progress.update(total ?? 0)
    progress.stop()
    progress.stop()
    return stream.text
  }

  test('drawn on a terminal for inputs of 64 MiB or more', () => {
    const text = drive(true, PROGRESS_MIN_BYTES)
    expect(text).toMatch(/big\.bin/)
    expect(text).toMatch(/64\.0 MiB/)
  })

  test('nothing when stderr is not a terminal, the input is small or its size unknown', () => {
    expect(drive(false, 10 * PROGRESS_MIN_BYTES)).toBe('')
    expect(drive(true, PROGRESS_MIN_BYTES - 1)).toBe('')
    expect(drive(true, undefined)).toBe('')
  })

  test('nothing on stderr when the CLI is not on a terminal', async () => {
    const big = 'progress-big.bin'
    writeFileSync(join(dir, big), new Uint8Array(PROGRESS_MIN_BYTES))
    const r = await fulmen(['hash', big])
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe(await expectedLine(new Uint8Array(PROGRESS_MIN_BYTES), big))
  })

  test('byte counts', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(3 * 2 ** 30)).toBe('3.0 GiB')
  })
})
