/**
 * Sessions over libp2p: `/fulmen/handshake/2.0.0` streams handed to a session host
 * (src/services/session-host.ts) as byte channels. A component: it takes streams from its start
 * until its stop, which comes before the host's (the host then ends what is open).
 */
import type { Component } from '../core/lifecycle.ts'
import type { NodeLibp2p } from '../net/node-libp2p.ts'
import { HANDSHAKE_PROTOCOL } from '../net/protocols.ts'
import { streamChannel } from '../net/stream-channel.ts'
import type { SessionHost } from '../services/session-host.ts'
import type { NodeConfig } from './config.ts'

export function handshakeListener(
  libp2p: () => NodeLibp2p,
  host: () => SessionHost,
  config: NodeConfig['sessions'],
): Component {
  return {
    name: 'handshake listener',
    async start() {
      const sessions = host()
      await libp2p().handle(
        HANDSHAKE_PROTOCOL,
        (stream, connection) => {
          void sessions.handle(streamChannel(stream, connection.remotePeer.toString()))
        },
        // At least what one client key may open (on one connection): libp2p resets streams past
        // its cap before our handshake sees them, uncounted; our refusals say why (0x88), counted.
        {
          maxInboundStreams: Math.max(
            256,
            config.maxSessionsPerClient * config.maxStreamsPerSession,
          ),
        },
      )
    },
    async stop() {
      await libp2p()
        .unhandle(HANDSHAKE_PROTOCOL)
        .catch(() => {})
    },
  }
}
