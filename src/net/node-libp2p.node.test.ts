/**
 * A node started with `webrtcPort: 0` gets a UDP port that is free for UDP: libp2p's own mapping
 * (`get-port`) probes TCP only and handed out ports another node held for UDP.
 */
import { createSocket, type Socket } from 'node:dgram'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, describe, expect, test } from 'vitest'
import { createNodeLibp2p, freeUdpPort } from './node-libp2p.ts'

const held: Socket[] = []
afterAll(() => {
  for (const s of held) s.close()
})

function holdUdp(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', reject)
    socket.bind({ address: '127.0.0.1', port, exclusive: true }, () => {
      held.push(socket)
      resolve()
    })
  })
}

describe('ephemeral WebRTC-direct ports', () => {
  test('freeUdpPort never returns a port held for UDP', async () => {
    for (let i = 0; i < 20; i++) {
      const port = await freeUdpPort('127.0.0.1')
      expect(port).toBeGreaterThan(0)
      // Binding it must succeed; holding it keeps it out of later answers.
      await holdUdp(port)
    }
    expect(new Set(held.map((s) => s.address().port)).size).toBe(20)
  })

  test('a node with webrtcPort 0 listens on a UDP port it owns', async () => {
    const libp2p = await createNodeLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      host: '127.0.0.1',
      wsPort: 0,
      webrtcPort: 0,
    })
    await libp2p.start()
    try {
      const udp = libp2p
        .getMultiaddrs()
        .map((a) => a.toString())
        .find((a) => a.includes('/webrtc-direct'))
      expect(udp).toMatch(/^\/ip4\/127\.0\.0\.1\/udp\/[1-9]\d*\/webrtc-direct/)
      const port = Number(udp?.split('/')[4])
      // The port is taken for UDP now: another exclusive bind fails.
      await expect(holdUdp(port)).rejects.toMatchObject({ code: 'EADDRINUSE' })
    } finally {
      await libp2p.stop()
    }
  })
})
