/**
 * The simulated map: metro areas with a share of the world's users and of its nodes, points
 * scattered around them, and round trips from great-circle distance.
 *
 *   rtt(a, b) = 2 × distance / 200 km/ms × 1.5 + access
 *
 * Light in fibre covers ~200 km a millisecond, and routes run ~1.5× longer than the great
 * circle (the usual "path inflation" of Internet measurements); `access` is the last mile.
 */
import type { Prng } from '../fuzz-random.ts'

export interface Metro {
  readonly name: string
  readonly lat: number
  readonly lon: number
  /** Relative share of clients. */
  readonly users: number
  /** Relative share of nodes: not the same as users, so some regions are under-served. */
  readonly nodes: number
}

export const METROS: readonly Metro[] = [
  { name: 'New York', lat: 40.71, lon: -74.0, users: 8, nodes: 10 },
  { name: 'San Francisco', lat: 37.77, lon: -122.42, users: 5, nodes: 9 },
  { name: 'Chicago', lat: 41.88, lon: -87.63, users: 4, nodes: 4 },
  { name: 'São Paulo', lat: -23.55, lon: -46.63, users: 6, nodes: 3 },
  { name: 'London', lat: 51.51, lon: -0.13, users: 7, nodes: 9 },
  { name: 'Frankfurt', lat: 50.11, lon: 8.68, users: 5, nodes: 10 },
  { name: 'Lagos', lat: 6.52, lon: 3.38, users: 5, nodes: 1 },
  { name: 'Johannesburg', lat: -26.2, lon: 28.05, users: 3, nodes: 2 },
  { name: 'Mumbai', lat: 19.08, lon: 72.88, users: 9, nodes: 4 },
  { name: 'Singapore', lat: 1.35, lon: 103.82, users: 5, nodes: 8 },
  { name: 'Tokyo', lat: 35.68, lon: 139.69, users: 7, nodes: 7 },
  { name: 'Seoul', lat: 37.57, lon: 126.98, users: 4, nodes: 4 },
  { name: 'Sydney', lat: -33.87, lon: 151.21, users: 3, nodes: 3 },
  { name: 'Jakarta', lat: -6.2, lon: 106.85, users: 5, nodes: 2 },
]

export interface Place {
  readonly lat: number
  readonly lon: number
  readonly metro: number
}

const EARTH_KM = 6371
const FIBRE_KM_PER_MS = 200
const PATH_INFLATION = 1.5
const RAD = Math.PI / 180

/** Great-circle distance, km (haversine). */
export function greatCircleKm(a: Place, b: Place): number {
  const dLat = (b.lat - a.lat) * RAD
  const dLon = (b.lon - a.lon) * RAD
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)))
}

/** Round trip between two places, ms, before jitter and the far end's own delay. */
export function propagationRttMs(a: Place, b: Place, accessMs: number): number {
  return (2 * greatCircleKm(a, b) * PATH_INFLATION) / FIBRE_KM_PER_MS + accessMs
}

/** A metro drawn by `weight`, then a point scattered up to ~300 km around it. */
export function placeAround(prng: Prng, weight: (m: Metro) => number): Place {
  let total = 0
  for (const m of METROS) total += weight(m)
  let draw = prng.float() * total
  let metro = 0
  for (; metro < METROS.length - 1; metro++) {
    draw -= weight(METROS[metro] as Metro)
    if (draw < 0) break
  }
  const m = METROS[metro] as Metro
  // ~300 km is ~2.7° of latitude; shrink longitude by latitude so the scatter stays round.
  const r = 2.7 * Math.sqrt(prng.float())
  const angle = 2 * Math.PI * prng.float()
  return {
    lat: m.lat + r * Math.sin(angle),
    lon: m.lon + (r * Math.cos(angle)) / Math.max(0.2, Math.cos(m.lat * RAD)),
    metro,
  }
}
