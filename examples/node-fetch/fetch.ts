import { writeFile } from 'node:fs/promises'
import { createClient, FetchError, formatContentId, hash } from 'fulmen'

// node fetch.ts <node multiaddr> <content id> [out file]   (stdout without a file)
const [node, id, out] = process.argv.slice(2)
if (node === undefined || id === undefined) {
  console.error('usage: node fetch.ts <node multiaddr> <content id> [out file]')
  process.exit(2)
}

const client = await createClient({ bootstrap: [node] })
try {
  const response = await client.fetch(id, {
    onProgress: (e) => {
      if (e.type === 'failover') console.error(`${e.node} failed (${e.failure.code}), resuming`)
    },
  })
  const bytes = new Uint8Array(await response.arrayBuffer()) // every block verified against the id
  console.error(`${bytes.length} bytes verified: ${formatContentId(hash(bytes), 'cid')}`)
  if (out === undefined) process.stdout.write(bytes)
  else await writeFile(out, bytes)
} catch (error) {
  if (!(error instanceof FetchError)) throw error
  console.error(`${error.code}: ${error.message}`)
  for (const f of error.failures) console.error(`  ${f.node}: ${f.code} ${f.message}`)
  process.exitCode = 1
} finally {
  await client.close()
}
