import { readFileSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import { readySync } from '../../src/b3/engine.ts'
import { createClient } from '../../src/client/client.ts'
import { createClientLibp2p } from '../../src/net/client-libp2p.ts'
readySync()
const j = JSON.parse(readFileSync('/tmp/sbnode.out', 'utf8'))
const address = multiaddr(j.multiaddr)
const raw = await createClientLibp2p()
const connection = await raw.dial(address)
console.error('dialed')
const s = await connection.newStream('/fulmen-bench/cpu/1.0.0')
console.error('cpu stream')
let text = ''
for await (const c of s) text += new TextDecoder().decode(c.subarray())
console.error('cpu', text)
const r = await connection.newStream('/fulmen-bench/raw/1.0.0')
let n = 0
const t0 = performance.now()
for await (const c of r) n += c.byteLength
console.error('raw', n, performance.now() - t0)
const client = await createClient({ bootstrap: [address] })
const t1 = performance.now()
const res = await client.fetch(j.rootHex)
console.error('fetch resolved')
let m = 0
for await (const c of res.body) m += c.byteLength
console.error('session', m, performance.now() - t1)
process.exit(0)
