/** Discovery's server moved to src/discovery/provider-service.ts; the full node's import path. */
export {
  type ProviderService,
  type ProviderServiceOptions,
  startProviderService,
} from '../../discovery/provider-service.ts'
