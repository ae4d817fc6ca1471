/**
 * What a node's failure says about the node, from its typed code: it lied (sent something that
 * failed verification), could not be reached, dropped the session, stalled, or had nothing.
 * The service worker counts lies apart from other failovers, and the demo labels nodes by kind
 * ("caught" alone read as "lied" for a node that was merely stopped).
 */

export type FailureKind = 'lied' | 'unreachable' | 'closed' | 'stalled' | 'not-found' | 'failed'

/** Codes of content that did not verify: a wrong block, proof, root, length or digest. */
export function isLie(code: string): boolean {
  return (
    code.startsWith('B3_') ||
    code === 'WIRE_WRONG_CONTENT' ||
    code.endsWith('_INTEGRITY') ||
    code.endsWith('_WRONG_DIGEST') ||
    code.endsWith('_WRONG_LENGTH')
  )
}

export function failureKind(code: string, status?: number): FailureKind {
  if (isLie(code)) return 'lied'
  if (status === 404 || code.endsWith('NOT_FOUND')) return 'not-found'
  if (code === 'CLIENT_UNREACHABLE' || code === 'GATEWAY_UNREACHABLE' || code === 'FETCH_NO_NODES')
    return 'unreachable'
  if (code === 'CLIENT_STALLED') return 'stalled'
  if (code === 'CLIENT_TRUNCATED' || code.startsWith('SESSION_')) return 'closed'
  return 'failed'
}
