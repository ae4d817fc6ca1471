// Served by Vite at /fulmen-sw.ts, so the bench page can register it with scope '/'.
import '../../../workers/fulmen-sw.ts'
