/**
 * The geography simulation at a small size (the full size, 1,000 nodes and 10,000 clients, is
 * `npm run sim`, and scripts/sim-plots.ts for docs/simulation.md): it replays exactly from its
 * seed, routing beats random choice, reputation follows true quality, false reports do not
 * move honest scores when there are none, and `npm run sim -- --json` prints the figures other
 * checks read.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { runSimulation } from './simulation.ts'

const small = { nodes: 60, clients: 400, epochs: 4, requestsPerClient: 6 }

describe('the geography simulation', () => {
  test('the same seed gives the same figures, another seed others', () => {
    const a = runSimulation({ ...small, seed: 7 })
    const b = runSimulation({ ...small, seed: 7 })
    const c = runSimulation({ ...small, seed: 8 })
    expect(b.epochs).toEqual(a.epochs)
    expect(c.epochs).not.toEqual(a.epochs)
  })

  test('routing beats random choice; reputation ranks like true quality', () => {
    const { epochs } = runSimulation({ ...small, seed: 1 })
    const last = epochs.at(-1)
    if (last === undefined) throw new Error('no epochs')
    expect(epochs).toHaveLength(4)
    expect(last.routingP50Ms).toBeLessThan(last.randomP50Ms)
    expect(last.routingP50VsRandom).toBeLessThan(0.8)
    expect(last.reputationSpearman).toBeGreaterThan(0.7)
    expect(last.connectionsMean).toBeGreaterThan(1)
    expect(last.summariesSent).toBeGreaterThan(0)
    expect(last.peerFillHitRate).toBeGreaterThan(0)
    for (const e of epochs) expect(e.requests).toBe(small.clients * small.requestsPerClient)
  })

  test('without false reporters, no honest score moves; without bad servers, no lie is met', () => {
    const { epochs } = runSimulation({ ...small, seed: 3, falseReporters: 0, badServers: 0 })
    for (const e of epochs) {
      expect(e.honestScoreShiftMax).toBe(0)
      expect(e.liesMet).toBe(0)
    }
  })

  test('bad options are refused with the option named', () => {
    expect(() => runSimulation({ ...small, seed: 1, nodes: 1 })).toThrow(/≥ 2 nodes/)
    expect(() => runSimulation({ ...small, seed: 1, churn: -1 })).toThrow(/churn/)
  })

  test('npm run sim -- --json prints the figures other checks read; bad flags exit 2', () => {
    const script = fileURLToPath(new URL('../../../scripts/sim.ts', import.meta.url))
    const out = execFileSync(
      process.execPath,
      [script, '--nodes', '30', '--clients', '100', '--epochs', '2', '--seed', '5', '--json'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const figures = JSON.parse(out) as Record<string, unknown>
    for (const key of [
      'routingP50VsOracle',
      'routingP50VsRandom',
      'reputationSpearman',
      'honestScoreShiftMax',
      'peerFillHitRate',
      'seconds',
    ])
      expect(typeof figures[key], key).toBe('number')
    expect(figures.epochs).toBe(2)
    expect(figures.perEpoch).toHaveLength(2)
    let status = 0
    try {
      execFileSync(process.execPath, [script, '--nodes', 'many'], { stdio: 'pipe' })
    } catch (e) {
      status = (e as { status: number }).status
    }
    expect(status).toBe(2)
  })
})
