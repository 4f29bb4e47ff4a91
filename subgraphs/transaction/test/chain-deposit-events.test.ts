import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEnvelope, readEvent } from '../../../lib/events/contracts/index.js';
import { rawEnvelope } from '../../../test/support/events.js';
import type { TransactionDeps } from '../src/deps.js';
import { creditChainDeposit } from '../src/workflows/chain-deposit.js';

/** Dependencies that fail the test if anything is touched: an ignored event records nothing. */
function untouchable(): TransactionDeps {
  return new Proxy({} as TransactionDeps, {
    get(_target, property) {
      throw new Error(`an ignored event used deps.${String(property)}`);
    },
  });
}

const hash = `0x${'a'.repeat(64)}`;
const deposit = (data: Record<string, unknown>) =>
  rawEnvelope('blockchain.event', randomUUID(), {
    kind: 'CARBON_DEPOSIT',
    depositId: randomUUID(),
    userId: randomUUID(),
    amount: '0.000000000000001',
    amountMinor: '1000',
    txHash: hash,
    burnTxHash: hash,
    ...data,
  });

describe('CARBON_DEPOSIT events', () => {
  it('never reach the credit when malformed: the contract refuses them, so nothing is credited', () => {
    for (const bad of [deposit({ amountMinor: '-5' }), deposit({ amountMinor: '1.5' }), deposit({ userId: 'nobody' }), deposit({ depositId: undefined })]) {
      expect(readEvent(bad, ['blockchain.event'])).toMatchObject({ ok: false, reason: 'malformed' });
    }
    expect(readEvent(deposit({}), ['blockchain.event']).ok).toBe(true);
  });

  it('are the only chain events credited', async () => {
    const logged = { contract: 'token', account: `0x${'1'.repeat(40)}`, amount: '1.000000000000000000', txHash: hash, logIndex: 0, blockNumber: '1', blockHash: hash } as const;
    const transfer = createEnvelope('blockchain.event', 'x', { ...logged, kind: 'TRANSFER', from: logged.account, to: logged.account });
    await expect(creditChainDeposit(untouchable(), transfer)).resolves.toBeUndefined();
  });
});
