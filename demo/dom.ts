/** Tiny DOM helpers: the page is plain DOM, no framework. */

/** The element with this id; a missing one is a bug in index.html, so it throws. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`#${id} is missing from the page`)
  return el as T
}

type Child = Node | string | undefined | false

/** `h('span', { class: 'pill', text: 'ok' }, child…)`: an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { class?: string; text?: string; title?: string; [attr: string]: string | undefined } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined) continue
    if (name === 'class') el.className = value
    else if (name === 'text') el.textContent = value
    else el.setAttribute(name, value)
  }
  for (const child of children) if (child !== undefined && child !== false) el.append(child)
  return el
}

/** Sets text only when it changed: the panels re-render every second without flicker. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text
}

/** Calls `render` at most once per animation frame, however often `schedule` is called. */
export function frameThrottle(render: () => void): () => void {
  let queued = false
  return () => {
    if (queued) return
    queued = true
    requestAnimationFrame(() => {
      queued = false
      render()
    })
  }
}
