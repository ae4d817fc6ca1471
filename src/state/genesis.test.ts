import { describe, expect, it } from 'vitest'
import { StateError } from './errors.ts'
import { genesisHash, genesisToJson, parseGenesis } from './genesis.ts'
import { testChain } from './testing/chain-fixture.ts'

describe('genesis files', () => {
  const { genesis } = testChain({ nodeCount: 2 })

  it('round-trip through JSON with the same hash', () => {
    const text = genesisToJson(genesis)
    const parsed = parseGenesis(text)
    expect(parsed).toEqual(genesis)
    expect(genesisHash(parsed)).toEqual(genesisHash(genesis))
    expect(genesisHash({ ...genesis, chainId: genesis.chainId + 1 })).not.toEqual(
      genesisHash(genesis),
    )
  })

  it('name the field that is wrong', () => {
    const json = JSON.parse(genesisToJson(genesis))
    // biome-ignore lint/suspicious/noExplicitAny: the cases edit parsed JSON of any shape
    const cases: [(j: any) => void, RegExp][] = [
      [(j) => (j.chainId = -1), /chainId/],
      [(j) => (j.bridge = '0x12'), /bridge/],
      [(j) => delete j.params.epochTimeMs, /params.epochTimeMs/],
      [(j) => (j.params.bogus = '1'), /params.bogus/],
      [(j) => (j.params.nodeShare = '1'), /nodeShare/],
      [(j) => (j.params.committeeSize = '0'), /committeeSize/],
      [(j) => (j.nodes[0].stake = 1.5), /nodes\[0\].stake/],
      [(j) => (j.nodes[1].key = j.nodes[0].key), /listed twice/],
      [(j) => (j.committee = ['ab'.repeat(32)]), /not a genesis node/],
      [(j) => (j.committee = []), /committee is empty/],
      [(j) => (j.prices = ['1']), /prices/],
      [(j) => (j.accounts[0].flk = '-5'), /accounts\[0\].flk/],
    ]
    for (const [edit, message] of cases) {
      const copy = structuredClone(json)
      edit(copy)
      let error: unknown
      try {
        parseGenesis(JSON.stringify(copy))
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(StateError)
      expect((error as StateError).code).toBe('STATE_GENESIS_INVALID')
      expect((error as Error).message).toMatch(message)
    }
    expect(() => parseGenesis('{')).toThrow(/not JSON/)
    expect(() => parseGenesis('[]')).toThrow(/not an object/)
  })
})
