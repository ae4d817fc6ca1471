/**
 * The Fulmen service worker for the bench page (fulmen-sw.ts beside this file, the project's
 * workers/fulmen-sw.ts), registered with `registerFulmen` as an app would.
 */
import { type FulmenServiceWorker, registerFulmen } from '../../../src/browser/sw/register.ts'

export const PREFIX = '/fulmen/'

let sw: FulmenServiceWorker | undefined

/** Registers the worker on `nodes` and waits until it controls the page and is configured. */
export async function startServiceWorker(nodes: readonly string[]): Promise<void> {
  sw = await registerFulmen({
    prefix: PREFIX,
    nodes,
    order: 'given',
    scriptUrl: '/fulmen-sw.ts',
    type: 'module',
    scope: '/',
  })
}

/** Drops the worker's verified-block cache, so the next request goes to the nodes. */
export async function clearServiceWorkerCache(): Promise<void> {
  if (sw === undefined) throw new Error('startServiceWorker first')
  await sw.clearCache()
}
