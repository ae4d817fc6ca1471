/**
 * Start/stop of a node's parts, in the manner of js-libp2p's components: each part is a
 * `Component` (a name, `start`, `stop`), and `composeComponents` runs a list of them as one.
 * It starts them in order and stops them in reverse, so a part stops while everything it was
 * started on still runs; a start that fails stops the parts already started (in reverse) and
 * rejects with a `LifecycleError` whose `cause` is the part's error.
 */
import { FulmenError } from './errors.ts'

export interface Component {
  /** Names the part in errors and logs (`store`, `libp2p`, `gateway`…). */
  readonly name: string
  /**
   * Brings the part up. `signal` aborts when the start is abandoned (a `stop` during the
   * start, or the caller's signal); a part whose start takes long should give up on it.
   */
  start(signal?: AbortSignal): Promise<void> | void
  /** Takes the part down; called once, and only after its `start` resolved. */
  stop(): Promise<void> | void
}

export type LifecycleErrorCode =
  | 'LIFECYCLE_START_FAILED'
  | 'LIFECYCLE_START_ABORTED'
  | 'LIFECYCLE_STOP_FAILED'
  | 'LIFECYCLE_ALREADY_STARTED'
  | 'LIFECYCLE_NOT_STARTED'

export class LifecycleError extends FulmenError<LifecycleErrorCode> {
  override readonly name = 'LifecycleError'
  /** The component whose start or stop failed (the first one, for a stop), or not started. */
  readonly component: string

  constructor(
    code: LifecycleErrorCode,
    component: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options)
    this.component = component
  }
}

/** `part` once its component started it; before, LIFECYCLE_NOT_STARTED naming `name`. */
export function startedPart<T>(part: T | undefined, name: string): T {
  if (part === undefined)
    throw new LifecycleError('LIFECYCLE_NOT_STARTED', name, `${name} is not started`)
  return part
}

/** The cause of a failed start: what the part threw, not the lifecycle's wrapper. */
export function startFailureCause(error: unknown): unknown {
  return error instanceof LifecycleError && error.code === 'LIFECYCLE_START_FAILED'
    ? error.cause
    : error
}

export interface ComposedComponents extends Component {
  /** Names of the parts started and not stopped yet, in start order. */
  readonly started: readonly string[]
  start(signal?: AbortSignal): Promise<void>
  stop(): Promise<void>
}

/**
 * `components` as one component. `start` runs once; `stop` is idempotent (every call returns
 * the same promise) and may come during the start: the part starting then is asked to give up
 * through its signal, the start rejects with LIFECYCLE_START_ABORTED once what started is
 * stopped again, and `stop` resolves then. A part whose stop fails does not keep the others
 * up: every one is stopped, then `stop` rejects with LIFECYCLE_STOP_FAILED naming the first.
 */
export function composeComponents(
  name: string,
  components: readonly Component[],
): ComposedComponents {
  const started: Component[] = []
  const abandon = new AbortController()
  let starting: Promise<void> | undefined
  let stopping: Promise<void> | undefined

  const stopStarted = async (): Promise<void> => {
    let failure: LifecycleError | undefined
    while (started.length > 0) {
      const part = started.pop()!
      try {
        await part.stop()
      } catch (error) {
        failure ??= new LifecycleError(
          'LIFECYCLE_STOP_FAILED',
          part.name,
          `${name}: ${part.name} failed to stop: ${messageOf(error)}`,
          { cause: error },
        )
      }
    }
    if (failure !== undefined) throw failure
  }

  const run = async (signal: AbortSignal | undefined): Promise<void> => {
    const abandoned =
      signal === undefined ? abandon.signal : AbortSignal.any([signal, abandon.signal])
    for (const part of components) {
      if (abandoned.aborted) break
      try {
        await part.start(abandoned)
      } catch (error) {
        if (abandoned.aborted) break
        await stopStarted().catch(() => {})
        throw new LifecycleError(
          'LIFECYCLE_START_FAILED',
          part.name,
          `${name}: ${part.name} failed to start: ${messageOf(error)}`,
          { cause: error },
        )
      }
      started.push(part)
    }
    if (!abandoned.aborted) return
    // Abandoned: by stop() (which stops what started, once this returns) or by the caller.
    if (stopping === undefined) await stopStarted().catch(() => {})
    throw new LifecycleError('LIFECYCLE_START_ABORTED', name, `${name}: the start was abandoned`, {
      cause: abandoned.reason,
    })
  }

  return {
    name,
    get started() {
      return started.map((c) => c.name)
    },
    start(signal) {
      if (starting !== undefined || stopping !== undefined)
        return Promise.reject(
          new LifecycleError('LIFECYCLE_ALREADY_STARTED', name, `${name} was started already`),
        )
      starting = run(signal)
      return starting
    },
    stop() {
      stopping ??= (async () => {
        abandon.abort(new LifecycleError('LIFECYCLE_START_ABORTED', name, `${name} is stopping`))
        await starting?.catch(() => {})
        await stopStarted()
      })()
      return stopping
    },
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
