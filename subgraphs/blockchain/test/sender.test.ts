import { encodeFunctionData } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carbonStakingAbi, carbonTokenAbi } from '../../../contracts/artifacts/index.js';
import { Sender } from '../src/chain/sender.js';
import { startTracker } from '../src/chain/tracker.js';
import { waitFor } from '../../../test/support/wait.js';
import { type DeployedChain, newUserId, startDeployedChain, startParts, TONNE } from './harness.js';

let chain: DeployedChain;
let parts: Awaited<ReturnType<typeof startParts>>;
let tracker: ReturnType<typeof startTracker>;

beforeAll(async () => {
  chain = await startDeployedChain();
  parts = await startParts({ rpcUrl: chain.anvil.rpcUrl, contracts: chain.contracts, env: { CONFIRMATIONS: '3' } });
  tracker = startTracker({ chain: parts.chain, db: parts.db, pollIntervalMs: 50 });
});
afterAll(async () => {
  await tracker?.stop();
  await parts?.close();
  await chain?.anvil.stop();
});

const statusOf = async (id: string) => (await parts.sql`select status, revert_reason, nonce from chain_transactions where id = ${id}`)[0];

describe('sending from one signer', () => {
  it('gives 10 concurrent mints from the operator 10 distinct nonces, and all of them are mined', async () => {
    const account = await parts.custody.accountOf(newUserId());
    const mint = () =>
      parts.sender.send({
        signer: parts.chain.operator,
        kind: 'MINT',
        userId: account.userId,
        to: chain.contracts.token,
        data: encodeFunctionData({ abi: carbonTokenAbi, functionName: 'mint', args: [account.address as `0x${string}`, TONNE] }),
      });
    const sent = await Promise.all(Array.from({ length: 10 }, mint));
    expect(sent.map((row) => row.status)).toEqual(Array(10).fill('SUBMITTED'));
    expect(new Set(sent.map((row) => row.nonce)).size).toBe(10);
    await waitFor(async () => (await chain.carbonBalance(account.address as `0x${string}`)) === 10n * TONNE, { timeoutMs: 10_000, message: 'ten tonnes minted' });
    // Three confirmations: the chain must grow two blocks past the last mint.
    await chain.client.request({ method: 'anvil_mine' as never, params: ['0x2'] as never });
    await waitFor(async () => (await Promise.all(sent.map((row) => statusOf(row.id)))).every((row) => row?.status === 'CONFIRMED'), { timeoutMs: 10_000, message: 'all ten confirmed' });
  });

  it('gives concurrent mints from two instances of the service distinct nonces: the signer is shared through the database', async () => {
    const account = await parts.custody.accountOf(newUserId());
    // Another process's sender: its own queue and nonce memory, the same database and signer.
    const senders = [parts.sender, new Sender(parts.chain, parts.db)];
    const mint = (index: number) =>
      senders[index % 2]!.send({
        signer: parts.chain.operator,
        kind: 'MINT',
        userId: account.userId,
        to: chain.contracts.token,
        data: encodeFunctionData({ abi: carbonTokenAbi, functionName: 'mint', args: [account.address as `0x${string}`, TONNE] }),
      });
    const sent = await Promise.all(Array.from({ length: 10 }, (_, index) => mint(index)));
    expect(sent.map((row) => `${row.status} ${row.revertReason ?? ''}`.trim())).toEqual(Array(10).fill('SUBMITTED'));
    expect(new Set(sent.map((row) => row.nonce)).size).toBe(10);
    await waitFor(async () => (await chain.carbonBalance(account.address as `0x${string}`)) === 10n * TONNE, { timeoutMs: 10_000, message: 'ten tonnes minted' });
  });

  it('keeps a transaction MINED until it is CONFIRMATIONS blocks deep', async () => {
    const account = await parts.custody.accountOf(newUserId());
    const row = await parts.sender.send({
      signer: parts.chain.operator,
      kind: 'MINT',
      userId: account.userId,
      to: chain.contracts.token,
      data: encodeFunctionData({ abi: carbonTokenAbi, functionName: 'mint', args: [account.address as `0x${string}`, TONNE] }),
    });
    await waitFor(async () => (await statusOf(row.id))?.status === 'MINED', { timeoutMs: 10_000, message: 'mined' });
    await tracker.pass();
    expect((await statusOf(row.id))?.status).toBe('MINED');
    await chain.client.request({ method: 'anvil_mine' as never, params: ['0x2'] as never });
    await waitFor(async () => (await statusOf(row.id))?.status === 'CONFIRMED', { timeoutMs: 10_000, message: 'confirmed' });
  });

  it('records a call whose estimate reverts as FAILED with the decoded reason, signing nothing', async () => {
    const account = await parts.custody.accountOf(newUserId());
    const row = await parts.sender.send({
      signer: parts.custody.signerOf(account),
      kind: 'UNSTAKE',
      userId: account.userId,
      to: chain.contracts.staking,
      data: encodeFunctionData({ abi: carbonStakingAbi, functionName: 'unstake', args: [5n] }),
    });
    expect(row).toMatchObject({ status: 'FAILED', hash: null, nonce: null, revertReason: 'InsufficientStake(5, 0)' });
  });

  it('ends a transaction that reverts on chain FAILED, with the reason decoded by replaying it', async () => {
    const account = await parts.custody.accountOf(newUserId());
    const row = await parts.sender.send({
      signer: parts.custody.signerOf(account),
      kind: 'UNSTAKE',
      userId: account.userId,
      to: chain.contracts.staking,
      data: encodeFunctionData({ abi: carbonStakingAbi, functionName: 'unstake', args: [7n] }),
      gas: 200_000n,
    });
    expect(row.status).toBe('SUBMITTED');
    const settled = await waitFor(async () => {
      const current = await statusOf(row.id);
      return current?.status === 'FAILED' && current;
    }, { timeoutMs: 10_000, message: 'the revert to be seen' });
    expect(settled.revert_reason).toBe('InsufficientStake(7, 0)');
  });
});
