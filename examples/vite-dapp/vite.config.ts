import { fulmen } from 'fulmen/vite'
import { defineConfig } from 'vite'

// The plugin: Fulmen's workers in `vite` and `vite build`, and the service worker at /fulmen-sw.js.
export default defineConfig({ plugins: [fulmen()] })
