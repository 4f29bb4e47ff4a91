import { and, desc, eq, gt, lte, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { type Abi, type Address, BlockNotFoundError } from 'viem';
import { carbonStakingAbi, carbonTokenAbi } from '../../../../contracts/artifacts/index.js';
import { createEnvelope } from '../../../../lib/events/contracts/index.js';
import { enqueueEvents } from '../../../../lib/events/outbox.js';
import { startPeriodic } from '../../../../lib/server/periodic.js';
import type { BackgroundTask } from '../../../../lib/server/service.js';
import type { Chain } from '../chain/clients.js';
import type { Custody } from '../chain/custody.js';
import type * as schema from '../db/schema.js';
import { chainEvents, indexerCursor } from '../db/schema.js';
import { addressesOf, describeEvent, eventData, STAKING_EVENTS, TOKEN_EVENTS } from './events.js';

/** Stored blocks with events compared with the chain when looking for the common ancestor after a reorg. */
const REORG_WALK_BLOCKS_MAX = 1000;

interface IndexedContract {
  name: 'token' | 'staking';
  address: Address;
  abi: Abi;
  events: readonly string[];
}

export interface IndexerOptions {
  chain: Chain;
  db: PostgresJsDatabase<typeof schema>;
  custody: Custody;
  blockRange: number;
  startBlock: bigint;
  pollIntervalMs: number;
}

export interface Indexer extends BackgroundTask {
  /** Indexes until every contract is at the head; for tests. */
  catchUp(): Promise<void>;
}

type IndexerDb = PostgresJsDatabase<typeof schema>;
type IndexerTransaction = Parameters<Parameters<IndexerDb['transaction']>[0]>[0];

interface Cursor {
  lastBlock: bigint;
  lastBlockHash: string | null;
}

export function startIndexer(options: IndexerOptions): Indexer {
  const { chain, db } = options;
  const contracts: IndexedContract[] = [
    { name: 'token', address: chain.contracts.token, abi: carbonTokenAbi, events: TOKEN_EVENTS },
    { name: 'staking', address: chain.contracts.staking, abi: carbonStakingAbi, events: STAKING_EVENTS },
  ];

  const blockHashAt = (number: bigint) =>
    chain.publicClient.getBlock({ blockNumber: number }).then(
      (block) => block.hash as string,
      (error: unknown) => {
        if (error instanceof BlockNotFoundError) return null;
        throw error;
      },
    );

  async function loadCursor(contract: IndexedContract, reader: IndexerTransaction | IndexerDb = db): Promise<Cursor> {
    const [row] = await reader.select().from(indexerCursor).where(eq(indexerCursor.contract, contract.name));
    return row ? { lastBlock: row.lastBlock, lastBlockHash: row.lastBlockHash } : { lastBlock: options.startBlock - 1n, lastBlockHash: null };
  }

  /**
   * In a write's transaction: whether the contract's cursor is still the one read before the chain was read.
   * Every instance indexes; this compare-and-set, under a per-contract lock held to the commit (there may be no
   * cursor row to lock yet), lets one write per cursor position through, so a range is stored and published once.
   */
  async function cursorStill(tx: IndexerTransaction, contract: IndexedContract, cursor: Cursor): Promise<boolean> {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`blockchain.indexer:${contract.name}`}))`);
    const current = await loadCursor(contract, tx);
    return current.lastBlock === cursor.lastBlock && current.lastBlockHash === cursor.lastBlockHash;
  }

  /** One bounded range of one contract; returns true when it is at the head. */
  async function indexRange(contract: IndexedContract): Promise<boolean> {
    const cursor = await loadCursor(contract);
    if (cursor.lastBlockHash !== null && (await blockHashAt(cursor.lastBlock)) !== cursor.lastBlockHash) {
      await rewind(contract, cursor);
      return false;
    }
    const head = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    const fromBlock = cursor.lastBlock + 1n;
    if (fromBlock > head) return true;
    const toBlock = head < fromBlock + BigInt(options.blockRange) - 1n ? head : fromBlock + BigInt(options.blockRange) - 1n;
    const toHash = await blockHashAt(toBlock);
    const logs = await chain.publicClient.getContractEvents({ address: contract.address, abi: contract.abi, fromBlock, toBlock, strict: true });
    // A reorg while reading: the logs may come from another fork than the hashes; read the range again.
    if (toHash === null || (await blockHashAt(toBlock)) !== toHash) return false;
    if (cursor.lastBlockHash !== null && (await blockHashAt(cursor.lastBlock)) !== cursor.lastBlockHash) return false;
    if (logs.some((log) => log.blockNumber === toBlock && log.blockHash !== toHash)) return false;
    const described = logs.flatMap((log) => {
      if (!contract.events.includes(log.eventName as string)) return [];
      const event = describeEvent(log.eventName as string, log.args as Record<string, unknown>);
      return event ? [{ log, event }] : [];
    });
    const users = await options.custody.usersOf([...new Set(described.flatMap(({ event }) => addressesOf(event)))]);
    await db.transaction(async (tx) => {
      // Another instance moved the cursor meanwhile: its range wins, this one is dropped.
      if (!(await cursorStill(tx, contract, cursor))) return;
      const envelopes = [];
      for (const { log, event } of described) {
        const where = { contract: contract.name, txHash: log.transactionHash, logIndex: log.logIndex, blockNumber: log.blockNumber, blockHash: log.blockHash };
        const { data, key } = eventData(event, users, where);
        const inserted = await tx
          .insert(chainEvents)
          .values({ ...where, kind: event.kind, key, amount: event.amountMinor.toString(), data })
          .onConflictDoNothing()
          .returning({ id: chainEvents.id });
        if (inserted.length > 0) envelopes.push(createEnvelope('blockchain.event', key, data));
      }
      await enqueueEvents(tx, envelopes);
      await tx
        .insert(indexerCursor)
        .values({ contract: contract.name, lastBlock: toBlock, lastBlockHash: toHash })
        .onConflictDoUpdate({ target: indexerCursor.contract, set: { lastBlock: toBlock, lastBlockHash: toHash, updatedAt: new Date() } });
    });
    return toBlock === head;
  }

  /**
   * The cursor's block is no longer on the chain. The newest stored event block whose hash the chain still has
   * is a common ancestor (a block hash fixes its whole history). Events above it are deleted and each is
   * published again with `removed: true`, so consumers undo it; re-indexing then publishes the new fork's events.
   */
  async function rewind(contract: IndexedContract, cursor: Cursor): Promise<void> {
    const stored = await db
      .selectDistinct({ blockNumber: chainEvents.blockNumber, blockHash: chainEvents.blockHash })
      .from(chainEvents)
      .where(and(eq(chainEvents.contract, contract.name), lte(chainEvents.blockNumber, cursor.lastBlock)))
      .orderBy(desc(chainEvents.blockNumber))
      .limit(REORG_WALK_BLOCKS_MAX);
    let ancestor: Cursor = { lastBlock: options.startBlock - 1n, lastBlockHash: null };
    for (const block of stored) {
      if ((await blockHashAt(block.blockNumber)) === block.blockHash) {
        ancestor = { lastBlock: block.blockNumber, lastBlockHash: block.blockHash };
        break;
      }
    }
    chain.log.warn({ contract: contract.name, from: cursor.lastBlock.toString(), to: ancestor.lastBlock.toString() }, 'chain reorganised; re-indexing from the common ancestor');
    await db.transaction(async (tx) => {
      // Another instance rewound or moved on meanwhile: it told the removals, this one tells nothing.
      if (!(await cursorStill(tx, contract, cursor))) return;
      const removed = await tx.delete(chainEvents).where(and(eq(chainEvents.contract, contract.name), gt(chainEvents.blockNumber, ancestor.lastBlock))).returning();
      removed.sort((a, b) => Number(a.blockNumber - b.blockNumber) || a.logIndex - b.logIndex);
      await enqueueEvents(tx, removed.map((row) => createEnvelope('blockchain.event', row.key, { ...row.data, removed: true })));
      if (ancestor.lastBlockHash === null) await tx.delete(indexerCursor).where(eq(indexerCursor.contract, contract.name));
      else await tx.update(indexerCursor).set({ lastBlock: ancestor.lastBlock, lastBlockHash: ancestor.lastBlockHash, updatedAt: sql`now()` }).where(eq(indexerCursor.contract, contract.name));
    });
  }

  async function catchUp(stopped: () => boolean): Promise<void> {
    for (const contract of contracts) {
      while (!stopped() && !(await indexRange(contract))) {}
    }
  }

  const periodic = startPeriodic({ what: 'indexer pass', intervalMs: options.pollIntervalMs, firstDelayMs: 0, log: chain.log, pass: catchUp });
  return { catchUp: periodic.runOnce, stop: periodic.stop };
}
