/** @helia/verified-fetch's public entry, bundled only to compare sizes (bundles.ts). */
export { createVerifiedFetch, verifiedFetch } from '@helia/verified-fetch'
