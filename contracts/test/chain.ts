import {
  type Abi,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  type Hash,
  type Hex,
  type TransactionReceipt,
  createTestClient,
  decodeErrorResult,
  getAddress,
  parseSignature,
  publicActions,
  walletActions,
} from 'viem';
import { type HDAccount, mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import { type AnvilNode, startAnvil } from '../../scripts/infra/anvil.js';
import { rpcTransport } from '../../lib/chain/rpc-transport.js';
import {
  carbonAccountAbi,
  carbonPaymentAbi,
  carbonStakingAbi,
  carbonTokenAbi,
  carbonTokenBytecode,
} from '../artifacts/index.js';

/** anvil's default mnemonic: its first accounts hold 10,000 ETH each. */
const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';
/** How many of those accounts the tests name. */
const ACCOUNT_COUNT = 6;
/**
 * The blockchain subgraph's own transport (gas estimates raised by its headroom): an estimate is exact only for
 * the block it was made against, and after a snapshot revert anvil may estimate at one second and mine at the next.
 */
const RPC_TIMEOUT_MS = 10_000;
/** anvil mines each transaction at once; this only bounds a wait that went wrong. */
const RECEIPT_TIMEOUT_MS = 10_000;

/** Errors of every contract together, so an error bubbled up from the token decodes in a payment test. */
const ALL_ERRORS_ABI = [...carbonTokenAbi, ...carbonAccountAbi, ...carbonPaymentAbi, ...carbonStakingAbi].filter(
  (item) => item.type === 'error',
) satisfies Abi;

/** One anvil per test file, and a client that reads, writes and travels in time on it. */
export async function startChain() {
  const anvil: AnvilNode = await startAnvil();
  const client = createTestClient({ mode: 'anvil', chain: foundry, transport: rpcTransport(anvil.rpcUrl, RPC_TIMEOUT_MS), pollingInterval: 50 })
    .extend(publicActions)
    .extend(walletActions);
  const accounts: HDAccount[] = Array.from({ length: ACCOUNT_COUNT }, (_, addressIndex) =>
    mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex }),
  );

  /** Waits for the transaction and requires that it succeeded. */
  async function mined(hash: Promise<Hash>): Promise<TransactionReceipt> {
    const receipt = await client.waitForTransactionReceipt({ hash: await hash, timeout: RECEIPT_TIMEOUT_MS });
    expect(receipt.status).toBe('success');
    return receipt;
  }

  /** Deploys a CarbonToken with `admin` as admin and minter. */
  async function deployToken(admin: HDAccount): Promise<Address> {
    return deployed(
      client.deployContract({ account: admin, abi: carbonTokenAbi, bytecode: carbonTokenBytecode, args: [admin.address, admin.address] }),
    );
  }

  async function deployed(hash: Promise<Hash>): Promise<Address> {
    const receipt = await mined(hash);
    if (!receipt.contractAddress) throw new Error('deployment receipt without a contract address');
    // Checksummed, as viem decodes addresses in events and errors.
    return getAddress(receipt.contractAddress);
  }

  /** Each test starts from the state `beforeEach` snapshots, whatever the one before it did. */
  async function snapshot(): Promise<() => Promise<void>> {
    const id = await client.snapshot();
    return async () => {
      // viem's revert() drops anvil's answer; a false one would leave this test's state to the next.
      const reverted = (await client.request({ method: 'evm_revert', params: [id] })) as unknown;
      if (reverted !== true) throw new Error(`anvil did not revert to snapshot ${id}`);
    };
  }

  /** Timestamp of the latest block, in seconds. */
  async function latestTimestampSeconds(): Promise<bigint> {
    return (await client.getBlock({ blockTag: 'latest' })).timestamp;
  }

  /** The next transaction is mined in a block with this timestamp, so time-based arithmetic is exact. */
  async function nextBlockAt(timestampSeconds: bigint): Promise<void> {
    await client.setNextBlockTimestamp({ timestamp: timestampSeconds });
  }

  /** Mines an empty block at this timestamp; views read at `latest` then see that time. */
  async function mineAt(timestampSeconds: bigint): Promise<void> {
    await nextBlockAt(timestampSeconds);
    await client.mine({ blocks: 1 });
  }

  return { anvil, client, accounts, mined, deployed, deployToken, snapshot, latestTimestampSeconds, nextBlockAt, mineAt };
}

export type Chain = Awaited<ReturnType<typeof startChain>>;

/**
 * For a test file with one chain (started in its beforeAll): every test starts from the state beforeAll left (a
 * snapshot taken before it and reverted after it), and the chain stops after the file.
 */
export function revertEachTest(chainOf: () => Chain | undefined): void {
  let restoreSnapshot: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await chainOf()?.anvil.stop();
  });
  beforeEach(async () => {
    restoreSnapshot = await (chainOf() as Chain).snapshot();
  });
  afterEach(async () => {
    await restoreSnapshot?.();
  });
}


/** Requires that `attempt` reverts with the custom error `errorName` and, when given, exactly these arguments. */
export async function expectRevert(attempt: Promise<unknown>, errorName: string, args?: readonly unknown[]): Promise<void> {
  const error = await attempt.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (error === undefined) throw new Error(`expected a revert with ${errorName}, but it succeeded`);
  const data = revertData(error);
  if (data === undefined) throw new Error(`expected a revert with ${errorName}, got: ${String(error)}`);
  const decoded = decodeErrorResult({ abi: ALL_ERRORS_ABI, data });
  expect(decoded.errorName).toBe(errorName);
  if (args !== undefined) expect(decoded.args ?? []).toEqual(args);
}

/** The revert data in a viem error, wherever in its chain of causes it sits. */
function revertData(error: unknown): Hex | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((cause) => cause instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError && reverted.raw) return reverted.raw;
  const withData = error.walk((cause) => typeof (cause as { data?: unknown }).data === 'string');
  const data = (withData as { data?: unknown } | null)?.data;
  return typeof data === 'string' && data.startsWith('0x') ? (data as Hex) : undefined;
}

/** EIP-2612 permit signed by `owner`; `signer` signs instead when given, which makes the signature invalid. */
export async function signPermit(
  chain: Chain,
  permit: { token: Address; owner: HDAccount; spender: Address; value: bigint; deadline: bigint; signer?: HDAccount },
) {
  const nonce = await chain.client.readContract({
    address: permit.token,
    abi: carbonTokenAbi,
    functionName: 'nonces',
    args: [permit.owner.address],
  });
  const signer = permit.signer ?? permit.owner;
  const signature = await signer.signTypedData({
    domain: { name: 'Moss Carbon Credit', version: '1', chainId: foundry.id, verifyingContract: permit.token },
    types: {
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Permit',
    message: { owner: permit.owner.address, spender: permit.spender, value: permit.value, nonce, deadline: permit.deadline },
  });
  const { r, s, v, yParity } = parseSignature(signature);
  // The permit takes v as 27 or 28; viem gives it for legacy signatures, and yParity always.
  return { r, s, v: Number(v ?? BigInt(yParity + 27)) };
}
