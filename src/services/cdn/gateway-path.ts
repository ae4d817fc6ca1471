/**
 * Where a node's HTTP gateway serves a pointer with the CDN service (Lightning's
 * `/services/0/…` paths): what verifying HTTP clients (`fulmen fetch --from`, the service
 * worker's gateway fallback) ask for.
 */
import { formatContentId } from '../../b3/content-id.ts'
import { cidOf, type Pointer } from '../../origin/pointer.ts'

export function gatewayPath(pointer: Pointer): string {
  switch (pointer.kind) {
    case 'blake3':
      return `/services/0/blake3/${formatContentId(pointer.root, 'hex')}`
    case 'ipfs':
      return `/services/0/ipfs/${cidOf(pointer).toString()}`
    case 'http':
      return `/services/0/http?url=${encodeURIComponent(pointer.url)}&integrity=${encodeURIComponent(pointer.integrity)}`
  }
}
