import { MemoryKvStore } from './memory-kv-store.ts'
import { kvStoreContract } from './testing/kv-store-contract.ts'

kvStoreContract('memory', async () => ({ store: new MemoryKvStore(), cleanup: async () => {} }), {
  propertyRuns: 100,
})

// Chunks of 2 to 3 entries: every test crosses chunk boundaries, splits and emptied chunks.
kvStoreContract(
  'memory, chunks of 3',
  async () => ({ store: new MemoryKvStore({ chunkSize: 3 }), cleanup: async () => {} }),
  { propertyRuns: 100 },
)
