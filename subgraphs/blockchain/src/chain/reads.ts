import type { Address } from 'viem';
import { carbonStakingAbi, carbonTokenAbi } from '../../../../contracts/artifacts/index.js';
import type { Chain } from './clients.js';

export const carbonBalanceOf = (chain: Chain, address: Address) =>
  chain.call('balanceOf', () => chain.publicClient.readContract({ address: chain.contracts.token, abi: carbonTokenAbi, functionName: 'balanceOf', args: [address] }));

export const allowanceOf = (chain: Chain, owner: Address, spender: Address) =>
  chain.call('allowance', () => chain.publicClient.readContract({ address: chain.contracts.token, abi: carbonTokenAbi, functionName: 'allowance', args: [owner, spender] }));

export const ethBalanceOf = (chain: Chain, address: Address) => chain.call('eth_getBalance', () => chain.publicClient.getBalance({ address }));

export const stakedOf = (chain: Chain, address: Address) =>
  chain.call('stakedOf', () => chain.publicClient.readContract({ address: chain.contracts.staking, abi: carbonStakingAbi, functionName: 'stakedOf', args: [address] }));

export const rewardsOf = (chain: Chain, address: Address) =>
  chain.call('earned', () => chain.publicClient.readContract({ address: chain.contracts.staking, abi: carbonStakingAbi, functionName: 'earned', args: [address] }));
