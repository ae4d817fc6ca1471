/**
 * The one timer ordering uses, injectable so that a test or a simulator drives time itself.
 */

/** Arms `fn` to run once after `ms`; returns what disarms it. */
export type SetTimer = (fn: () => void, ms: number) => () => void

export const defaultSetTimer: SetTimer = (fn, ms) => {
  const timer = setTimeout(fn, ms)
  return () => clearTimeout(timer)
}
