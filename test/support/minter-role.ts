import { createPublicClient, createWalletClient, http } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { carbonTokenAbi } from '../../contracts/artifacts/index.js';
import { DEV_MNEMONIC } from '../../scripts/infra/deploy-contracts.js';

/**
 * Runs `run` while the operator lacks CarbonToken's minter role, so every mint it sends reverts on chain (the way
 * tests make a withdrawal fail there), and gives the role back afterwards, whatever `run` did.
 */
export async function withoutMinterRole<Result>(chain: { rpcUrl: string; contracts: { token: `0x${string}` } }, run: () => Promise<Result>): Promise<Result> {
  const operator = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 });
  const transport = http(chain.rpcUrl);
  const reader = createPublicClient({ chain: foundry, transport });
  const wallet = createWalletClient({ account: operator, chain: foundry, transport });
  const minterRole = await reader.readContract({ address: chain.contracts.token, abi: carbonTokenAbi, functionName: 'MINTER_ROLE' });
  const setMinter = async (grant: boolean) => {
    const hash = await wallet.writeContract({ address: chain.contracts.token, abi: carbonTokenAbi, functionName: grant ? 'grantRole' : 'revokeRole', args: [minterRole, operator.address] });
    await reader.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  };
  await setMinter(false);
  try {
    return await run();
  } finally {
    await setMinter(true);
  }
}
