import { randomUUID } from 'node:crypto';
import { createEnvelope, type ProducedEvent } from '../../lib/events/contracts/index.js';
import type { Envelope, Topic } from '../../lib/events/envelope.js';

/**
 * An envelope with any data, unchecked: for tests of what carries events (the transports), which must carry
 * bytes whatever their contract says, and of what a consumer does with data that breaks it.
 */
export function rawEnvelope(type: Topic, key: string, data: Record<string, unknown>, version = 1): Envelope {
  return { id: randomUUID(), type, version, occurredAt: new Date().toISOString(), key, data };
}

/** A valid `wallet.updated` event, for tests that need any event with a contract (the outbox, shutdown). */
export function walletEvent(key: string, fields: { balanceMinor?: string; userId?: string } = {}): ProducedEvent<'wallet.updated'> {
  const balanceMinor = fields.balanceMinor ?? '100';
  return createEnvelope('wallet.updated', key, {
    walletId: randomUUID(),
    userId: fields.userId ?? randomUUID(),
    currency: 'USD',
    balance: (Number(balanceMinor) / 100).toFixed(2),
    balanceMinor,
    changeMinor: '100',
    postingId: randomUUID(),
    postingKind: 'deposit',
    updatedAt: new Date().toISOString(),
  });
}
