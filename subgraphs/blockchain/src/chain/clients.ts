import { type Address, createPublicClient, type PublicClient } from 'viem';
import { type HDAccount, mnemonicToAccount } from 'viem/accounts';
import { AppError } from '../../../../lib/errors.js';
import type { Logger } from '../../../../lib/log.js';
import type { BlockchainConfig } from '../config.js';
import { fromChain } from './errors.js';
import { rpcTransport } from '../../../../lib/chain/rpc-transport.js';

/** The platform's operator: mints in development, funds gas, holds the MINTER and REGISTRAR roles. */
export const OPERATOR_ADDRESS_INDEX = 0;

export interface Chain {
  publicClient: PublicClient;
  contracts: BlockchainConfig['CONTRACT_ADDRESSES'];
  confirmationsMin: number;
  /** The node's chain id, asked once (and again after a failure), checked against CHAIN_ID when set. */
  chainId(): Promise<number>;
  accountAt(addressIndex: number): HDAccount;
  operator: HDAccount;
  /** A call to the node, with failures other than reverts made UPSTREAM_UNAVAILABLE. */
  call<T>(what: string, call: () => Promise<T>): Promise<T>;
  log: Logger;
}

export function createChain(config: BlockchainConfig, log: Logger): Chain {
  const transport = rpcTransport(config.ETH_RPC_URL, config.RPC_TIMEOUT_MS);
  const publicClient = createPublicClient({ transport, pollingInterval: 100 }) as PublicClient;
  const mnemonic = config.CUSTODY_MNEMONIC;
  let chainIdAsked: Promise<number> | undefined;
  const call = <T>(what: string, run: () => Promise<T>) =>
    fromChain(run, (error) => log.warn({ err: error instanceof Error ? error.message : String(error), what }, 'Ethereum node call failed'));

  async function askChainId(): Promise<number> {
    const id = await call('eth_chainId', () => publicClient.getChainId());
    if (config.CHAIN_ID !== undefined && id !== config.CHAIN_ID) {
      throw new AppError('UPSTREAM_UNAVAILABLE', `The Ethereum node serves chain ${id}, not the configured CHAIN_ID ${config.CHAIN_ID}`);
    }
    return id;
  }

  return {
    publicClient,
    contracts: config.CONTRACT_ADDRESSES,
    confirmationsMin: config.CONFIRMATIONS,
    chainId() {
      chainIdAsked ??= askChainId().catch((error: unknown) => {
        chainIdAsked = undefined;
        throw error;
      });
      return chainIdAsked;
    },
    accountAt: (addressIndex) => mnemonicToAccount(mnemonic.reveal(), { addressIndex }),
    operator: mnemonicToAccount(mnemonic.reveal(), { addressIndex: OPERATOR_ADDRESS_INDEX }),
    call,
    log,
  };
}

export type { Address };
