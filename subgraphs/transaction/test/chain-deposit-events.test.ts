import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEnvelope } from '../../../lib/events/envelope.js';
import type { Logger } from '../../../lib/log.js';
import type { WorkflowDeps } from '../src/workflows/context.js';
import { creditChainDeposit } from '../src/workflows/withdrawal.js';

/** Dependencies that fail the test if anything but the logger is touched: a refused event records nothing. */
function untouchable(warnings: string[]): WorkflowDeps {
  const log = { warn: (_fields: unknown, message: string) => void warnings.push(message) } as unknown as Logger;
  return new Proxy({ log } as WorkflowDeps, {
    get(target, property) {
      if (property === 'log') return target.log;
      throw new Error(`a refused event used deps.${String(property)}`);
    },
  });
}

const deposit = (data: Record<string, unknown>) =>
  createEnvelope('blockchain.event', randomUUID(), { kind: 'CARBON_DEPOSIT', depositId: randomUUID(), userId: randomUUID(), amountMinor: '1000', txHash: '0xabc', ...data });

describe('CARBON_DEPOSIT events', () => {
  it('leave a malformed deposit uncredited, with a warning, and ignore other chain events', async () => {
    const warnings: string[] = [];
    const deps = untouchable(warnings);
    for (const bad of [deposit({ amountMinor: '-5' }), deposit({ amountMinor: '1.5' }), deposit({ userId: 'nobody' }), deposit({ depositId: undefined })]) {
      await creditChainDeposit(deps, bad);
    }
    expect(warnings).toEqual(Array(4).fill('CARBON_DEPOSIT event not understood; nothing credited'));
    await creditChainDeposit(deps, createEnvelope('blockchain.event', 'x', { kind: 'TRANSFER', amount: '1' }));
    expect(warnings).toHaveLength(4);
  });
});
