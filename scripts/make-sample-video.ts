/**
 * Makes the demo's sample video with ffmpeg, from nothing but ffmpeg's own test pattern:
 *
 *   node scripts/make-sample-video.ts [--out FILE] [--seconds N]
 *
 * A 640x360, 30 fps WebM (VP9) of about 3 MB: `testsrc2` with the frame number and the
 * timestamp drawn on every frame, so a test (or a person) can read where a seek landed. A
 * keyframe every second and the Cues written at the front make it seekable over Range requests
 * without reading the end first; at ~2.4 Mbit/s each second spans one or two 256 KiB blocks,
 * so seeks hit different blocks. The output is committed (scripts/sample-media/): nothing
 * needs ffmpeg at `npm start`.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

export const SAMPLE_VIDEO = fileURLToPath(
  new URL('./sample-media/fulmen-sample.webm', import.meta.url),
)

/** Fonts drawtext may use, first found wins (Debian's fonts-dejavu-core, then Liberation). */
const FONTS = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf',
]

const WIDTH = 640
const HEIGHT = 360
const FPS = 30

/** The filter graph: the pattern with a frame counter and timestamp, or `testsrc`'s own counter. */
function videoSource(seconds: number): string[] {
  const font = FONTS.find((f) => existsSync(f))
  if (font === undefined) {
    // No font for drawtext: `testsrc` draws a running frame counter itself.
    return ['-f', 'lavfi', '-i', `testsrc=size=${WIDTH}x${HEIGHT}:rate=${FPS}:duration=${seconds}`]
  }
  const box = `fontfile=${font}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=8`
  const text = [
    `drawtext=${box}:fontsize=30:x=16:y=16:text='FULMEN  frame %{frame_num}'`,
    `drawtext=${box}:fontsize=30:x=16:y=h-th-16:text='t %{pts\\:hms}'`,
  ].join(',')
  return [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${WIDTH}x${HEIGHT}:rate=${FPS}:duration=${seconds},${text}`,
  ]
}

export async function makeSampleVideo(out: string, seconds = 10): Promise<number> {
  await mkdir(dirname(out), { recursive: true })
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    ...videoSource(seconds),
    '-c:v',
    'libvpx-vp9',
    '-b:v',
    '2400k',
    '-minrate',
    '1800k',
    '-maxrate',
    '3000k',
    // Fast and good enough for a test pattern; row-mt uses both cores.
    '-deadline',
    'good',
    '-cpu-used',
    '5',
    '-row-mt',
    '1',
    '-g',
    String(FPS),
    '-keyint_min',
    String(FPS),
    '-pix_fmt',
    'yuv420p',
    '-an',
    '-f',
    'webm',
    // The index (Cues) before the clusters: seekable after the first bytes.
    '-cues_to_front',
    '1',
    out,
  ]
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'inherit', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0) throw new Error(`ffmpeg exited with ${code}\n${stderr}`)
  return (await stat(out)).size
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, seconds: { type: 'string' } },
  })
  const out = values.out ?? SAMPLE_VIDEO
  const size = await makeSampleVideo(
    out,
    values.seconds === undefined ? 10 : Number(values.seconds),
  )
  process.stdout.write(`${out}: ${(size / 1024 / 1024).toFixed(2)} MiB\n`)
}
