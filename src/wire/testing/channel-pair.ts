/** Tests' name for the in-memory channel pair, which product code uses too (src/net's memory transport). */
export { type ChannelPairOptions, channelPair } from '../memory-channel.ts'
