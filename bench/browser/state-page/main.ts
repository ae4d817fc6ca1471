/** The state section's Chromium page: verifies the proofs Node made, on the main thread. */
import { ready } from '../../../src/b3/engine.ts'
import {
  measureStateVerify,
  type StateVerifyConfig,
  type StateVerifyResult,
} from '../../state-verify.ts'

declare global {
  interface Window {
    fulmenStateBench?: (config: StateVerifyConfig) => Promise<StateVerifyResult>
  }
}

window.fulmenStateBench = async (config) => {
  // The kernel a page gets after `ready()`, as in the demo and the client.
  await ready()
  return measureStateVerify(config)
}
