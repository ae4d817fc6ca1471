/**
 * One session's acknowledgements over several streams that reach the node in any order
 * (issue 23, point 2): the client's StreamAcks against the node's AckLedger, with the node
 * reading the streams in every interleaving fast-check finds. Nothing the client sends may end
 * the session, every unit it acknowledged is counted once, and the bound on what an aborting
 * client gets unacknowledged (2 × window + acknowledged) holds.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { generateClientKey } from '../crypto/client-key.ts'
import { type AckFrame, SessionAcks } from './client-acks.ts'
import { AckLedger } from './ledger.ts'
import { StreamAcks } from './stream-acks.ts'

const key = generateClientKey()
const NODE_KEY = new Uint8Array(32).fill(7)
const SESSION = 0x1234n
const EPOCH = 3n
const UNIT = 262_144

/** What happens next: a step of the node, of the client, or of the network. */
type Step =
  /** The node sends a block on stream `s` (if its window has room). */
  | { readonly kind: 'send'; readonly s: number }
  /** The client verifies a block that arrived on stream `s`. */
  | { readonly kind: 'verify'; readonly s: number }
  /** The node reads the next frame the client sent on stream `s`. */
  | { readonly kind: 'deliver'; readonly s: number }
  /** The client ends a body on `s` (acknowledges all it verified). */
  | { readonly kind: 'flush'; readonly s: number }
  /** The client aborts stream `s`: frames not yet read are lost, the node writes off. */
  | { readonly kind: 'abort'; readonly s: number }

const STREAMS = 4

const stepArb: fc.Arbitrary<Step> = fc
  .tuple(
    fc.constantFrom('send', 'send', 'verify', 'verify', 'deliver', 'deliver', 'flush', 'abort'),
    fc.integer({ min: 0, max: STREAMS - 1 }),
  )
  .map(([kind, s]) => ({ kind, s }) as Step)

interface Run {
  readonly window: number
  readonly chainLength: number
  readonly steps: readonly Step[]
}

const runArb: fc.Arbitrary<Run> = fc.record({
  window: fc.integer({ min: 1, max: 8 }),
  chainLength: fc.integer({ min: 1, max: 12 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 300 }),
})

/** The client's side of the session (the default chain length unless given). */
function sessionAcks(window: number, chainLength?: number): SessionAcks {
  return new SessionAcks({
    key,
    session: SESSION,
    nodeKey: NODE_KEY,
    epoch: EPOCH,
    service: 0,
    window,
    unit: UNIT,
    ...(chainLength === undefined ? {} : { chainLength }),
  })
}

/** Plays `run`; throws (failing the property) on any error of the node's ledger. */
function play(run: Run, withAborts: boolean) {
  const acks = sessionAcks(run.window, run.chainLength)
  const client = new StreamAcks<object>(acks)
  const ledger = new AckLedger({
    nodeKey: NODE_KEY,
    session: SESSION,
    epoch: EPOCH,
    clientKey: key.publicKey,
    service: 0,
    window: run.window,
  })
  // Per stream: its identity (a new one after an abort: it has carried no commitment), the
  // blocks in flight to the client, and the client's frames in flight to the node, in order.
  const streams = Array.from({ length: STREAMS }, () => ({
    id: {} as object,
    blocks: 0,
    frames: [] as AckFrame[],
  }))
  let lost = false
  const deliver = (s: number) => {
    const frame = streams[s]!.frames.shift()
    if (frame === undefined) return
    if (frame.kind === 'commit') ledger.commit(frame.commitment, frame.signature)
    else ledger.reveal(frame.seq, frame.index, frame.value)
  }
  for (const step of run.steps) {
    const stream = streams[step.s]!
    switch (step.kind) {
      case 'send':
        if (ledger.canSend()) {
          ledger.delivered(1)
          stream.blocks++
        }
        break
      case 'verify':
        if (stream.blocks > 0) {
          stream.blocks--
          stream.frames.push(...client.verified(stream.id, 1))
        }
        break
      case 'deliver':
        deliver(step.s)
        break
      case 'flush':
        stream.frames.push(...client.flush(stream.id))
        break
      case 'abort':
        if (!withAborts) break
        lost ||= stream.frames.length > 0
        streams[step.s] = { id: {}, blocks: 0, frames: [] }
        ledger.writeOff()
        break
    }
    // What a client gets unacknowledged stays bounded, however it aborts.
    expect(ledger.deliveredUnits - ledger.acknowledgedUnits).toBeLessThanOrEqual(
      2 * run.window + ledger.acknowledgedUnits,
    )
    expect(ledger.acknowledgedUnits).toBeLessThanOrEqual(acks.acknowledgedUnits)
  }
  // The rest arrives, stream after stream (any order will do: each is cumulative).
  for (const s of [3, 1, 0, 2]) while (streams[s]!.frames.length > 0) deliver(s)
  return { acks, ledger, lost }
}

describe('acknowledgements across streams', () => {
  test('in every interleaving: no reveal is refused, every acknowledged unit is counted', () => {
    fc.assert(
      fc.property(runArb, (run) => {
        const { acks, ledger } = play(run, false)
        expect(ledger.acknowledgedUnits).toBe(acks.acknowledgedUnits)
      }),
      { numRuns: 500 },
    )
  })

  test('with aborts: nothing refused, the bound holds, and without lost frames all counts', () => {
    fc.assert(
      fc.property(runArb, (run) => {
        const { acks, ledger, lost } = play(run, true)
        if (!lost) expect(ledger.acknowledgedUnits).toBe(acks.acknowledgedUnits)
      }),
      { numRuns: 500 },
    )
  })

  test('two streams verify their first blocks at once: one commitment, both acknowledged', () => {
    const acks = sessionAcks(4)
    const client = new StreamAcks<object>(acks)
    const [a, b] = [{}, {}]
    expect(client.flush(a)).toEqual([])
    const first = client.verified(a, 1)
    const second = client.verified(b, 1)
    expect(acks.commitments).toBe(1)
    expect(first).toEqual([])
    // Stream b carries the commitment before its reveal; a carries it before its next one.
    expect(second.map((f) => f.kind)).toEqual(['commit', 'reveal'])
    expect(client.flush(a)).toEqual([])
    expect(client.verified(a, 2).map((f) => f.kind)).toEqual(['commit', 'reveal'])
  })
})
