/** Typed progress events of a verified fetch (`onProgress`). */
import type { ByteRange } from '../b3/verified-stream.ts'
import type { NodeFailure } from './errors.ts'

export type FetchProgress =
  /**
   * A node answered with a header the client accepted (again when a later node's header sets
   * another length or, for a held body, another root).
   */
  | {
      readonly type: 'header'
      readonly node: string
      readonly length: number
      readonly range: ByteRange
    }
  /**
   * Block `block` was verified; `node` sent it. `streaming`: its bytes are released now
   * (`bytes` released so far). `holding`: the body of an IPFS or HTTP pointer is held until
   * the whole matched the pointer's digest (`bytes` held so far; a `failover` with
   * `resumeBlock` undefined starts the count over).
   */
  | {
      readonly type: 'block'
      readonly node: string
      readonly block: number
      readonly verified: number
      readonly total: number
      readonly bytes: number
      readonly stage: 'streaming' | 'holding'
    }
  /** `node` failed; the fetch goes on from `resumeBlock` (undefined: from the start). */
  | {
      readonly type: 'failover'
      readonly node: string
      readonly failure: NodeFailure
      readonly resumeBlock: number | undefined
    }
  /**
   * `node` refused for load (its session or stream limits): not a failure. The fetch asks
   * another node, or this one again after a short wait.
   */
  | { readonly type: 'busy'; readonly node: string; readonly failure: NodeFailure }
  /** Every byte is verified (for a held body: and matched the digest) and released. */
  | { readonly type: 'done'; readonly node: string; readonly bytes: number }
