import { readFile, writeFile } from 'node:fs/promises';
import { type Address, type Hash, type Hex, createPublicClient, createWalletClient, getAddress } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import {
  carbonAccountAbi,
  carbonAccountBytecode,
  carbonPaymentAbi,
  carbonPaymentBytecode,
  carbonStakingAbi,
  carbonStakingBytecode,
  carbonTokenAbi,
  carbonTokenBytecode,
} from '../../contracts/artifacts/index.js';
import { rpcTransport } from '../../lib/chain/rpc-transport.js';

/** anvil's well-known test mnemonic: development and tests only. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
const RPC_TIMEOUT_MS = 10_000;
const RECEIPT_TIMEOUT_MS = 30_000;

export interface ContractAddresses {
  token: Address;
  account: Address;
  payment: Address;
  staking: Address;
}

export interface DeployOptions {
  rpcUrl: string;
  /** The operator (address index 0) deploys and holds every role: admin, minter, registrar, staking owner. */
  mnemonic?: string;
}

/**
 * Deploys CarbonToken, CarbonAccount, CarbonPayment and CarbonStaking, one after the other from the operator,
 * and returns their checksummed addresses (the JSON CONTRACT_ADDRESSES takes).
 */
export async function deployContracts(options: DeployOptions): Promise<ContractAddresses> {
  const operator = mnemonicToAccount(options.mnemonic ?? DEV_MNEMONIC, { addressIndex: 0 });
  const transport = rpcTransport(options.rpcUrl, RPC_TIMEOUT_MS);
  const publicClient = createPublicClient({ transport, pollingInterval: 50 });
  const chainId = await publicClient.getChainId();
  const chain = { id: chainId, name: `chain-${chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [options.rpcUrl] } } };
  const wallet = createWalletClient({ account: operator, chain, transport });

  async function deployed(hash: Promise<Hash>): Promise<Address> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash, timeout: RECEIPT_TIMEOUT_MS });
    if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`deployment ${receipt.transactionHash} failed`);
    return getAddress(receipt.contractAddress);
  }
  const deploy = (abi: readonly unknown[], bytecode: Hex, args: readonly unknown[]) =>
    // biome-ignore lint/suspicious/noExplicitAny: four different ABIs through one helper; each is typed at its artifact.
    deployed(wallet.deployContract({ abi: abi as any, bytecode, args: args as any }));

  const token = await deploy(carbonTokenAbi, carbonTokenBytecode, [operator.address, operator.address]);
  const account = await deploy(carbonAccountAbi, carbonAccountBytecode, [operator.address, operator.address]);
  const payment = await deploy(carbonPaymentAbi, carbonPaymentBytecode, [token]);
  const staking = await deploy(carbonStakingAbi, carbonStakingBytecode, [token, operator.address]);
  return { token, account, payment, staking };
}

/**
 * The contracts of `addressesFile` when the chain still has their code, else a fresh deployment written there:
 * a restart of `npm start` or of docker compose's deploy step reuses the contracts instead of deploying again.
 */
export async function ensureContracts(options: DeployOptions & { addressesFile: string }): Promise<ContractAddresses> {
  const stored = await readFile(options.addressesFile, 'utf8').then((text) => JSON.parse(text) as ContractAddresses, () => null);
  if (stored) {
    const code = await createPublicClient({ transport: rpcTransport(options.rpcUrl, RPC_TIMEOUT_MS) }).getCode({ address: stored.token });
    if (code && code !== '0x') return stored;
  }
  const deployed = await deployContracts(options);
  await writeFile(options.addressesFile, `${JSON.stringify(deployed, null, 2)}\n`);
  return deployed;
}

// `tsx scripts/infra/deploy-contracts.ts [rpcUrl] [addressesFile]` prints the addresses as CONTRACT_ADDRESSES JSON;
// with a file, it deploys only when the contracts of that file are not on the chain (see ensureContracts).
if (import.meta.url === `file://${process.argv[1]}`) {
  const [rpcUrl = 'http://127.0.0.1:8545', addressesFile] = process.argv.slice(2);
  const options = { rpcUrl, mnemonic: process.env.CUSTODY_MNEMONIC };
  const addresses = addressesFile ? await ensureContracts({ ...options, addressesFile }) : await deployContracts(options);
  process.stdout.write(`${JSON.stringify(addresses)}\n`);
}
