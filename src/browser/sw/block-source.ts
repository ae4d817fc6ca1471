/**
 * A place verified bytes come from: the node sessions of a client, or one node's HTTP
 * gateway. Either one checks every block against the root before its bytes are read here.
 */
import type { ByteRange } from '../../b3/verified-stream.ts'
import type { Pointer } from '../../origin/pointer.ts'

/** Verified bytes of one request to a source. */
export interface SourceBody {
  /** The root the bytes were verified against (the pointer's, or the one a node announced). */
  readonly root: Uint8Array
  readonly length: number
  /** Who answered: a node's peer id or a gateway URL. */
  readonly node: string
  /** Exactly the bytes of the range asked for, each released only after its block verified. */
  readonly body: ReadableStream<Uint8Array>
  /** Who sends now (a client fails over between nodes within one body). */
  current(): string
}

export interface BlockSource {
  readonly kind: 'node' | 'gateway'
  readonly name: string
  /** Verified bytes of `range` (block-aligned), or of the whole content when undefined. */
  open(pointer: Pointer, range: ByteRange | undefined, signal: AbortSignal): Promise<SourceBody>
}
