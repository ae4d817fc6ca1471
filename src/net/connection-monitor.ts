/**
 * libp2p's connection monitor, as every Fulmen libp2p runs it: it pings and measures, but a
 * late ping does not abort the connection. A connection carrying content has megabytes queued
 * ahead of a ping in each direction, and a loaded peer answers late: with libp2p's default
 * (abort after an adaptive timeout of at least 5 s), 20 clients on one node lost whole
 * sessions mid-transfer (issue 23: 21 of 320 fetches, every stream of the connection at once).
 * A dead peer is still found: the transport closes, the client's stall timeout and the node's
 * acknowledgement timeout end its streams.
 */
export const connectionMonitor = { abortConnectionOnPingFailure: false } as const
