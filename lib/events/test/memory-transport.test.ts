import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { rawEnvelope as createEnvelope } from '../../../test/support/events.js';
import type { Envelope } from '../envelope.js';
import { createMemoryTransport } from '../memory-transport.js';

describe('the in-process bus', () => {
  it('gives every group each event, in order per key', async () => {
    const bus = createMemoryTransport();
    const seen: Record<string, string[]> = { a: [], b: [] };
    for (const group of ['a', 'b'] as const) {
      await bus.subscribe({ topics: ['wallet.updated'], groupId: group, fromBeginning: false, handle: async (envelope) => void seen[group]!.push(envelope.id) });
    }
    const envelopes = Array.from({ length: 20 }, (_, index) => createEnvelope('wallet.updated', 'user-1', { index }));
    await bus.publish(envelopes);
    await waitFor(() => seen.a!.length === 20 && seen.b!.length === 20, { timeoutMs: 2000, message: 'both groups to see 20 events' });
    expect(seen.a).toEqual(envelopes.map((envelope) => envelope.id));
    expect(seen.b).toEqual(seen.a);
  });

  it('redelivers an event whose handler failed, and nothing overtakes it', async () => {
    const bus = createMemoryTransport();
    const handled: number[] = [];
    let failuresLeft = 2;
    await bus.subscribe({
      topics: ['price.updated'],
      groupId: 'g',
      fromBeginning: false,
      handle: async (envelope: Envelope) => {
        if (envelope.data.index === 0 && failuresLeft-- > 0) throw new Error('not yet');
        handled.push(envelope.data.index as number);
      },
    });
    await bus.publish([0, 1, 2].map((index) => createEnvelope('price.updated', 'MCO2', { index })));
    await waitFor(() => handled.length === 3, { timeoutMs: 2000, message: 'three events handled' });
    expect(handled).toEqual([0, 1, 2]);
  });

  it('replays history to a new group that asks for it, and not to one that does not', async () => {
    const bus = createMemoryTransport();
    await bus.publish([createEnvelope('notification.created', 'u', { n: 1 })]);
    const replayed: unknown[] = [];
    const live: unknown[] = [];
    await bus.subscribe({ topics: ['notification.created'], groupId: 'durable', fromBeginning: true, handle: async (envelope) => void replayed.push(envelope.data) });
    await bus.subscribe({ topics: ['notification.created'], groupId: 'live', fromBeginning: false, handle: async (envelope) => void live.push(envelope.data) });
    await bus.publish([createEnvelope('notification.created', 'u', { n: 2 })]);
    await waitFor(() => replayed.length === 2 && live.length === 1, { timeoutMs: 2000, message: 'replay and live delivery' });
    expect(replayed).toEqual([{ n: 1 }, { n: 2 }]);
    expect(live).toEqual([{ n: 2 }]);
  });
});
