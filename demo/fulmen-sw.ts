// Served by Vite at /fulmen-sw.ts, so the page can register it with `{ type: 'module', scope: '/' }`.
import '../workers/fulmen-sw.ts'
