/**
 * One session's acknowledgements, routed to its streams (docs/protocol.md, "Acknowledgements
 * across streams"). The session has one chain; its frames go on whichever stream verified the
 * block. The node reads each stream in order but the streams in no order relative to each
 * other, so each REVEAL is preceded on its stream by the commitments that stream has not
 * carried yet (a commitment the node has is recognised by its bytes, at no cost): a reveal
 * never reaches the node before its commitment, and a reveal overtaken by a later one on
 * another stream is stale, which the node drops. Synchronous and I/O-free: the caller writes
 * the frames it gets, in order, on the stream it named.
 */
import type { AckFrame, CommitFrame, SessionAcks } from './client-acks.ts'

export class StreamAcks<Stream extends object> {
  private readonly acks: SessionAcks
  /** The session's commitments, by seq. */
  private readonly commits: CommitFrame[] = []
  /** How many of them each stream has carried. */
  private readonly carried = new WeakMap<Stream, number>()

  constructor(acks: SessionAcks) {
    this.acks = acks
  }

  /** Whether the first commitment is made. */
  get begun(): boolean {
    return this.commits.length > 0
  }

  /** Makes the session's first commitment, unless it is made (safe to call any number of times). */
  begin(): void {
    if (!this.begun) this.commits.push(this.acks.begin())
  }

  /** `units` more blocks verified from `stream`: the frames to send on it now. */
  verified(stream: Stream, units = 1): AckFrame[] {
    this.begin()
    return this.route(stream, this.acks.verified(units))
  }

  /** Everything verified so far acknowledged on `stream` (nothing before the first block). */
  flush(stream: Stream): AckFrame[] {
    return this.begun ? this.route(stream, this.acks.flush()) : []
  }

  private route(stream: Stream, frames: readonly AckFrame[]): AckFrame[] {
    const out: AckFrame[] = []
    let carried = this.carried.get(stream) ?? 0
    for (const frame of frames) {
      // Commitments come in seq order, from begin() and from chains running out.
      if (frame.kind === 'commit') {
        this.commits.push(frame)
        continue
      }
      for (; carried <= frame.seq; carried++) out.push(this.commits[carried]!)
      out.push(frame)
    }
    this.carried.set(stream, carried)
    return out
  }
}
