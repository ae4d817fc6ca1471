/** A content id shown short, with a button that copies it whole. */
import { h } from './dom.ts'
import { shortId } from './format.ts'

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text)
  } catch {
    // Clipboard API refused (no focus, no permission): the old way still works on most pages.
    const area = h('textarea', { class: 'offscreen' })
    area.value = text
    document.body.append(area)
    area.select()
    document.execCommand('copy')
    area.remove()
  }
}

/** Fills `host` with `<code>short</code> <button>copy</button>` for `id`. */
export function showId(host: HTMLElement, id: string): void {
  const button = h('button', {
    type: 'button',
    class: 'copy',
    text: 'copy',
    'aria-label': `Copy content id ${id}`,
  })
  button.addEventListener('click', () => {
    void copyText(id).then(() => {
      button.textContent = 'copied'
      setTimeout(() => {
        button.textContent = 'copy'
      }, 1200)
    })
  })
  host.replaceChildren(h('code', { text: shortId(id), title: id }), button)
}
