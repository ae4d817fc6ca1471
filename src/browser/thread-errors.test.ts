import { describe, expect, test } from 'vitest'
import { CheckpointError } from '../checkpoint/errors.ts'
import { ClientOptionsError, FetchError, NodeFailureError } from '../client/errors.ts'
import { LightError } from '../light/errors.ts'
import { StateError } from '../state/errors.ts'
import { LightWorkerError } from './light/errors.ts'
import { TabNodeError } from './node/tab-node-errors.ts'
import { errorFromData, errorToData } from './thread-errors.ts'

/** Through a real structured clone, as between the page and a worker. */
function across(error: unknown): Error {
  return errorFromData(structuredClone(errorToData(error)))
}

describe('thread errors', () => {
  test('a FetchError comes back a FetchError with its code and failures', () => {
    const failures = [{ node: '12D3KooWx', code: 'B3_BLOCK_MISMATCH', message: 'lied' }]
    const back = across(new FetchError('FETCH_ALL_NODES_FAILED', 'all failed', failures))
    expect(back).toBeInstanceOf(FetchError)
    expect((back as FetchError).code).toBe('FETCH_ALL_NODES_FAILED')
    expect((back as FetchError).failures).toEqual(failures)
    expect(back.message).toBe('all failed')
  })

  test('the tab node, node failure and option errors keep their classes and fields', () => {
    const tab = across(new TabNodeError('TAB_NODE_BAD_POINTER', 'not a pointer'))
    expect(tab).toBeInstanceOf(TabNodeError)
    expect((tab as TabNodeError).code).toBe('TAB_NODE_BAD_POINTER')
    expect(across(new NodeFailureError('CLIENT_STALLED', 's'))).toBeInstanceOf(NodeFailureError)
    const options = across(new ClientOptionsError('CLIENT_BAD_OPTION', 'order', 'x', 'bad'))
    expect(options).toBeInstanceOf(ClientOptionsError)
    expect([(options as ClientOptionsError).option, (options as ClientOptionsError).value]).toEqual(
      ['order', 'x'],
    )
  })

  test('the light client errors keep their classes, codes and details', () => {
    const failures = [{ source: 'http://a', code: 'CHECKPOINT_SIGNATURE', message: 'forged' }]
    const light = across(new LightError('LIGHT_NO_SOURCE', 'none', { details: { failures } }))
    expect(light).toBeInstanceOf(LightError)
    expect((light as LightError).code).toBe('LIGHT_NO_SOURCE')
    expect((light as LightError).details).toEqual({ failures })
    const checkpoint = across(new CheckpointError('CHECKPOINT_GAP', 'gap'))
    expect(checkpoint).toBeInstanceOf(CheckpointError)
    expect((checkpoint as CheckpointError).code).toBe('CHECKPOINT_GAP')
    expect(across(new StateError('STATE_INVALID_ARGUMENT', 'x'))).toBeInstanceOf(StateError)
    const worker = across(new LightWorkerError('LIGHT_WORKER_CLOSED', 'closed'))
    expect(worker).toBeInstanceOf(LightWorkerError)
    // A refused node's failure, with its cause's code in details.
    const refused = across(
      new NodeFailureError('CLIENT_CHAIN_UNVERIFIED', 'no', {
        cause: light,
        details: { peer: 'p', code: 'LIGHT_NO_SOURCE' },
      }),
    )
    expect(refused).toBeInstanceOf(NodeFailureError)
    expect(refused.cause).toBeInstanceOf(LightError)
  })

  test('another class arrives an Error with its name and code; an abort stays a DOMException', () => {
    const other = across(
      Object.assign(new Error('gone'), { name: 'SessionError', code: 'SESSION_CLOSED' }),
    )
    expect(other.constructor).toBe(Error)
    expect([other.name, (other as { code?: string }).code]).toEqual([
      'SessionError',
      'SESSION_CLOSED',
    ])
    const abort = across(new DOMException('stopped', 'AbortError'))
    expect(abort).toBeInstanceOf(DOMException)
    expect(abort.name).toBe('AbortError')
  })
})
