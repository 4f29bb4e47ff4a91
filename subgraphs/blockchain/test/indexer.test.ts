import type { Address } from 'viem';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { carbonTokenAbi } from '../../../contracts/artifacts/index.js';
import { waitFor } from '../../../test/support/wait.js';
import { type Indexer, startIndexer } from '../src/indexer/indexer.js';
import { type DeployedChain, newUserId, startDeployedChain, startParts, TONNE } from './harness.js';

let chain: DeployedChain;
type Parts = Awaited<ReturnType<typeof startParts>>;
const opened: { parts: Parts; indexers: Indexer[] }[] = [];

beforeAll(async () => {
  chain = await startDeployedChain();
});
afterEach(async () => {
  for (const { parts, indexers } of opened.splice(0)) {
    for (const indexer of indexers) await indexer.stop();
    await parts.close();
  }
});
afterAll(async () => {
  await chain?.anvil.stop();
});

async function setUp(blockRange = 500) {
  const parts = await startParts({ rpcUrl: chain.anvil.rpcUrl, contracts: chain.contracts });
  const entry = { parts, indexers: [] as Indexer[] };
  opened.push(entry);
  const startedIndexer = () => {
    const indexer = startIndexer({ chain: parts.chain, db: parts.db, custody: parts.custody, blockRange, startBlock: 0n, pollIntervalMs: 60_000 });
    entry.indexers.push(indexer);
    return indexer;
  };
  return { parts, startedIndexer };
}

const mint = (to: Address, amount: bigint) =>
  chain.mined(chain.wallet.writeContract({ address: chain.contracts.token, abi: carbonTokenAbi, functionName: 'mint', args: [to, amount] }));
const rpc = (method: string, params: unknown[] = []) => chain.client.request({ method: method as never, params: params as never }) as Promise<unknown>;
const STRANGER = '0x000000000000000000000000000000000000dEaD' as Address;

async function outboxEvents(parts: Parts) {
  const rows = await parts.sql<{ key: string; envelope: { data: Record<string, unknown> } }[]>`select key, envelope from outbox where topic = 'blockchain.event' order by seq`;
  return rows.map((row): Record<string, unknown> => ({ key: row.key, ...row.envelope.data }));
}

describe('the contract event indexer', () => {
  it('writes each event once with an envelope keyed by user id when custodial, else by address', async () => {
    const { parts, startedIndexer } = await setUp();
    const userId = newUserId();
    const account = (await parts.custody.accountOf(userId)).address as Address;
    const toUser = await mint(account, 2n * TONNE);
    await mint(STRANGER, TONNE / 2n);
    await chain.fundRewards(10n * TONNE, 10n ** 12n);
    const indexer = startedIndexer();
    await indexer.catchUp();
    await indexer.catchUp();

    const events = await outboxEvents(parts);
    const userMint = events.find((event) => event.txHash === toUser.transactionHash);
    expect(userMint).toMatchObject({ key: userId, userId, kind: 'MINT', amount: '2.000000000000000000', to: account, toUserId: userId, blockNumber: toUser.blockNumber.toString(), contract: 'token' });
    expect(events.find((event) => event.account === STRANGER)).toMatchObject({ key: STRANGER, kind: 'MINT', amount: '0.500000000000000000' });
    expect(events.find((event) => event.kind === 'REWARDS_FUNDED')).toMatchObject({ key: chain.operator.address, contract: 'staking', amount: '10.000000000000000000' });
    const stored = await parts.sql`select tx_hash, log_index from chain_events`;
    expect(stored).toHaveLength(events.length);
    expect(new Set(events.map((event) => `${event.txHash}:${event.logIndex}`)).size).toBe(events.length);
  });

  it('resumes after a stop mid-way from its cursor, missing and repeating nothing', async () => {
    for (let block = 0; block < 30; block += 1) await mint(STRANGER, BigInt(block + 1));
    await rpc('anvil_mine', ['0x64']);
    const { parts, startedIndexer } = await setUp(2);
    const first = startedIndexer();
    await waitFor(async () => ((await parts.sql`select last_block from indexer_cursor where contract = 'token'`)[0]?.last_block ?? 0) >= 10, {
      timeoutMs: 10_000,
      message: 'the first indexer to pass block 10',
    });
    await first.stop();
    const head = await chain.client.getBlockNumber({ cacheTime: 0 });
    const [stoppedAt] = await parts.sql`select last_block from indexer_cursor where contract = 'token'`;
    expect(BigInt(stoppedAt!.last_block)).toBeLessThan(head);

    await startedIndexer().catchUp();
    const onChain = await chain.client.getContractEvents({ address: chain.contracts.token, abi: carbonTokenAbi, eventName: 'Transfer', fromBlock: 0n, toBlock: head });
    const stored = await parts.sql`select tx_hash, log_index from chain_events where contract = 'token' and block_number <= ${head.toString()}`;
    expect(stored.map((row) => `${row.tx_hash}:${row.log_index}`).sort()).toEqual(onChain.map((log) => `${log.transactionHash}:${log.logIndex}`).sort());
    const published = (await outboxEvents(parts)).filter((event) => event.contract === 'token');
    expect(published).toHaveLength(stored.length);
  });

  it('walks back to the common ancestor after a reorg, publishes the removal of orphaned events, and indexes the new fork', async () => {
    const { parts, startedIndexer } = await setUp();
    const indexer = startedIndexer();
    await indexer.catchUp();
    const snapshot = await rpc('evm_snapshot');
    const orphanA = await mint(STRANGER, 111n);
    const orphanB = await mint(STRANGER, 222n);
    await indexer.catchUp();
    expect((await parts.sql`select count(*)::int as n from chain_events where tx_hash in (${orphanA.transactionHash}, ${orphanB.transactionHash})`)[0]!.n).toBe(2);

    expect(await rpc('evm_revert', [snapshot])).toBe(true);
    const canonical = await mint(STRANGER, 333n);
    await rpc('anvil_mine', ['0x3']);
    await indexer.catchUp();

    const stored = await parts.sql`select tx_hash from chain_events`;
    const hashes = stored.map((row) => row.tx_hash);
    expect(hashes).toContain(canonical.transactionHash);
    expect(hashes).not.toContain(orphanA.transactionHash);
    expect(hashes).not.toContain(orphanB.transactionHash);
    const events = await outboxEvents(parts);
    expect(events.filter((event) => event.removed === true).map((event) => event.txHash).sort()).toEqual([orphanA.transactionHash, orphanB.transactionHash].sort());
    expect(events.filter((event) => event.txHash === canonical.transactionHash && event.removed === undefined)).toHaveLength(1);
    const [cursor] = await parts.sql`select last_block, last_block_hash from indexer_cursor where contract = 'token'`;
    const head = await chain.client.getBlock({ blockTag: 'latest' });
    expect(cursor).toMatchObject({ last_block: head.number.toString(), last_block_hash: head.hash });
  });
});
