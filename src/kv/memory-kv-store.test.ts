import { MemoryKvStore } from './memory-kv-store.ts'
import { kvStoreContract } from './testing/kv-store-contract.ts'

kvStoreContract('memory', async () => ({ store: new MemoryKvStore(), cleanup: async () => {} }), {
  propertyRuns: 100,
})
