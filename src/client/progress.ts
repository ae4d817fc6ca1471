/** Typed progress events of a verified fetch (`onProgress`). */
import type { ByteRange } from '../b3/verified-stream.ts'
import type { NodeFailure } from './errors.ts'

export type FetchProgress =
  /** A node answered with a header the client accepted. */
  | {
      readonly type: 'header'
      readonly node: string
      readonly length: number
      readonly range: ByteRange
    }
  /** Block `block` was verified and its bytes released; `node` sent it. */
  | {
      readonly type: 'block'
      readonly node: string
      readonly block: number
      readonly verified: number
      readonly total: number
      readonly bytes: number
    }
  /** `node` failed; the fetch goes on from `resumeBlock` (undefined: from the start). */
  | {
      readonly type: 'failover'
      readonly node: string
      readonly failure: NodeFailure
      readonly resumeBlock: number | undefined
    }
  /** Every byte is verified and released. */
  | { readonly type: 'done'; readonly node: string; readonly bytes: number }
