/** Messages between the page (`register.ts`) and the worker (`fulmen-sw.ts`), over a MessageChannel. */
import type { SwConfig } from './sw-config.ts'
import type { SwStats } from './sw-stats.ts'

export type SwMessage =
  /** Merge into the configuration, persist it, recreate the client. */
  | { readonly type: 'fulmen:configure'; readonly config: Partial<SwConfig> }
  | { readonly type: 'fulmen:stats' }
  | { readonly type: 'fulmen:clear-cache' }

export type SwReply =
  | { readonly ok: true; readonly config?: SwConfig; readonly stats?: SwStats }
  | { readonly ok: false; readonly code: string; readonly message: string }

export function isSwMessage(data: unknown): data is SwMessage {
  const type = (data as { type?: unknown } | null)?.type
  return type === 'fulmen:configure' || type === 'fulmen:stats' || type === 'fulmen:clear-cache'
}
