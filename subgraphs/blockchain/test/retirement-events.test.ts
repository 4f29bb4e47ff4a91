import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope } from '../../../lib/events/envelope.js';
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

const retirementEvent = (data: Record<string, unknown>) =>
  createEnvelope('transaction.status', randomUUID(), {
    transactionId: randomUUID(),
    type: 'RETIREMENT',
    status: 'COMPLETED',
    fromUserId: randomUUID(),
    amountMinor: '1500000000000000000',
    retirement: { beneficiary: 'Acme Ltd', message: null },
    ...data,
  });

describe('queueing retirements from transaction.status', () => {
  it('queues a completed retirement once, however often the event comes', async () => {
    const event = retirementEvent({});
    await queueRetirement(parts, event, parts.db);
    await queueRetirement(parts, event, parts.db);
    expect(await parts.sql`select id, amount, beneficiary, message from chain_retirements where id = ${String(event.data.transactionId)}`).toEqual([
      { id: event.data.transactionId, amount: '1500000000000000000', beneficiary: 'Acme Ltd', message: null },
    ]);
  });

  it('ignores other transactions, and drops a retirement event that lacks what the certificate needs', async () => {
    const ignored = [
      retirementEvent({ status: 'FAILED' }),
      retirementEvent({ type: 'TRANSFER' }),
      retirementEvent({ retirement: undefined }),
      retirementEvent({ amountMinor: '-1' }),
      retirementEvent({ fromUserId: 'not a uuid' }),
    ];
    for (const event of ignored) await queueRetirement(parts, event, parts.db);
    const ids = ignored.map((event) => String(event.data.transactionId));
    expect(await parts.sql`select id from chain_retirements where id = any(${ids}::uuid[])`).toEqual([]);
  });
});
