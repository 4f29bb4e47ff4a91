import type { Address } from 'viem';

/** A user's custodial account, what the ChainAccount and StakePosition resolvers start from. */
export interface ChainAccountParent {
  address: Address;
  userId: string;
}
