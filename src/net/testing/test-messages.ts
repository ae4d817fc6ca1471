/** A two-kind message codec for the messenger's tests: VOTE (round, value) and NOTE (text). */
import { WireError } from '../../wire/errors.ts'
import type { FrameCodec } from '../../wire/frame-codec.ts'
import { PayloadReader, PayloadWriter } from '../../wire/payload.ts'

export type TestMessage =
  | { readonly kind: 'vote'; readonly round: number; readonly value: number }
  | { readonly kind: 'note'; readonly text: string }

export const VOTE = 0x60
export const NOTE = 0x61
const utf8 = new TextEncoder()

export const TEST_MESSAGES: FrameCodec<TestMessage> = {
  accepts: (kind) => kind === VOTE || kind === NOTE,
  maxPayload: 1024,
  decode(kind, payload) {
    if (kind === VOTE) {
      const r = PayloadReader.exact(payload, 8, 'VOTE')
      return { kind: 'vote', round: r.u32('round'), value: r.u32('value') }
    }
    if (kind === NOTE) {
      const r = new PayloadReader(payload, 'NOTE')
      return { kind: 'note', text: r.utf8(r.remaining, 'text') }
    }
    throw new WireError('WIRE_UNKNOWN_FRAME', `unknown frame type ${kind}`)
  },
  encode(m) {
    if (m.kind === 'vote') return new PayloadWriter(8).u32(m.round).u32(m.value).frame(VOTE)
    return new PayloadWriter().raw(utf8.encode(m.text)).frame(NOTE)
  },
}

/** Resolves when `check` holds, polling; rejects after `ms`. */
export async function eventually(
  check: () => boolean,
  ms = 5_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
