/** libp2p protocol ids Fulmen speaks. */
export const HANDSHAKE_PROTOCOL = '/fulmen/handshake/2.0.0'
/** Discovery: tabs announce the roots they hold to a full node, clients ask who holds one. */
export const PROVIDERS_PROTOCOL = '/fulmen/providers/1.0.0'
/** The chain (a node with a genesis): one request, one answer per stream (src/node/chain). */
export const CHAIN_PROTOCOL = '/fulmen/chain/1.0.0'
/** Signed pings between full nodes (src/reputation, src/node/reputation): one PING, one PONG per stream. */
export const PING_PROTOCOL = '/fulmen/ping/1.0.0'
/** Content summaries between full nodes (src/node/summaries): one SUMMARY per stream. */
export const SUMMARY_PROTOCOL = '/fulmen/summary/1.0.0'
