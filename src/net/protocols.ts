/** libp2p protocol ids Fulmen speaks. */
export const HANDSHAKE_PROTOCOL = '/fulmen/handshake/1.0.0'
