/** Discovery from the client's side lives in src/discovery/provider-client.ts; the client's name for it. */
export {
  type AnnounceReceipt,
  announce,
  type DialingLibp2p,
  type ProviderInfo,
  type ProvidersOptions,
  queryProviders,
} from '../discovery/provider-client.ts'
