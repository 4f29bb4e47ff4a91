import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope, type EventData, readEvent } from '../../../lib/events/contracts/index.js';
import { rawEnvelope } from '../../../test/support/events.js';
import { queueRetirement } from '../src/chain/retirements.js';
import { type DeployedChain, startDeployedChain, startParts } from './harness.js';

/** What the blockchain subgraph takes from `transaction.status`: completed retirements, and nothing else. */
let chain: DeployedChain;
let parts: Awaited<ReturnType<typeof startParts>>;

beforeAll(async () => {
  chain = await startDeployedChain();
  parts = await startParts({ rpcUrl: chain.anvil.rpcUrl, contracts: chain.contracts });
});
afterAll(async () => {
  await parts?.close();
  await chain?.anvil.stop();
});

const retirementData = (fields: Partial<Record<string, unknown>> = {}) => {
  const userId = randomUUID();
  return {
    transactionId: randomUUID(),
    type: 'RETIREMENT',
    status: 'COMPLETED',
    failureCode: null,
    initiatorId: userId,
    fromUserId: userId,
    toUserId: null,
    currency: 'CARBON',
    amount: '1.500000000000000000',
    amountMinor: '1500000000000000000',
    createdAt: new Date().toISOString(),
    completedAt: new Date().toISOString(),
    retirement: { beneficiary: 'Acme Ltd', message: null },
    ...fields,
  };
};
const retirementEvent = (fields: Partial<Record<string, unknown>> = {}) =>
  createEnvelope('transaction.status', randomUUID(), retirementData(fields) as EventData<'transaction.status'>);

describe('queueing retirements from transaction.status', () => {
  it('queues a completed retirement once, however often the event comes', async () => {
    const event = retirementEvent({});
    await queueRetirement(parts, event, parts.db);
    await queueRetirement(parts, event, parts.db);
    expect(await parts.sql`select id, amount, beneficiary, message from chain_retirements where id = ${event.data.transactionId}`).toEqual([
      { id: event.data.transactionId, amount: '1500000000000000000', beneficiary: 'Acme Ltd', message: null },
    ]);
  });

  it('ignores other transactions', async () => {
    const ignored = [retirementEvent({ status: 'FAILED', failureCode: 'INSUFFICIENT_FUNDS', completedAt: null }), retirementEvent({ type: 'TRANSFER', retirement: undefined })];
    for (const event of ignored) await queueRetirement(parts, event, parts.db);
    const ids = ignored.map((event) => event.data.transactionId);
    expect(await parts.sql`select id from chain_retirements where id = any(${ids}::uuid[])`).toEqual([]);
  });

  it('never gets a retirement event that lacks what the certificate needs: its contract refuses it', () => {
    for (const fields of [{ retirement: undefined }, { amountMinor: '-1' }, { fromUserId: 'not a uuid' }]) {
      const outcome = readEvent(rawEnvelope('transaction.status', randomUUID(), retirementData(fields)), ['transaction.status']);
      expect(outcome).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });
});
