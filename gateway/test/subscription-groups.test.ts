import type { ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createPushQueue, type PushQueue } from '../../lib/events/push-queue.js';
import { type GroupSource, type Member, SubscriberGroups } from '../src/subscriptions/groups.js';
import type { Event } from '../src/subscriptions/upstream.js';
import { waitFor } from '../../test/support/wait.js';

/** An upstream the test pushes events into, counting what the group asks of it. */
function fakeSource() {
  let returned = false;
  const events: PushQueue<Event> = createPushQueue<Event>({ lengthMax: 100, overflow: () => new Error('overflow'), onClose: () => void (returned = true) });
  const completed: Event[] = [];
  const source: GroupSource = {
    events,
    complete: async (event) => {
      completed.push(event);
      return { data: { tick: (event.data as { n: number }).n } };
    },
    failure: (error) => ({ errors: [{ message: String((error as Error).message) }] }) as unknown as ExecutionResult,
  };
  return { source, events, completed, returned: () => returned };
}

function member() {
  const received: string[] = [];
  const finished: (ExecutionResult | undefined)[] = [];
  const it: Member = {
    deliver: (payload) => {
      received.push(payload);
      return true;
    },
    finish: (last) => void finished.push(last),
  };
  return { member: it, received, finished };
}

describe('subscriber groups', () => {
  it('completes each event once and writes the same serialised result to every member', async () => {
    const groups = new SubscriberGroups();
    const upstream = fakeSource();
    let starts = 0;
    const start = () => {
      starts += 1;
      return upstream.source;
    };
    const members = [member(), member(), member()];
    for (const { member: one } of members) groups.join('key', start, one);
    upstream.events.push({ data: { n: 1 } });
    upstream.events.push({ data: { n: 2 } });
    await waitFor(() => members.every(({ received }) => received.length === 2), { timeoutMs: 2_000, message: 'both events at every member' });
    expect(starts).toBe(1);
    expect(upstream.completed).toHaveLength(2);
    expect(groups.executions).toBe(2);
    expect(groups.deliveries).toBe(6);
    for (const { received } of members) expect(received).toEqual(['{"data":{"tick":1}}', '{"data":{"tick":2}}']);
    expect(groups.count).toBe(1);
    expect(groups.members).toBe(3);
  });

  it('keeps groups with different keys apart, and ends the upstream when the last member leaves', async () => {
    const groups = new SubscriberGroups();
    const mine = fakeSource();
    const theirs = fakeSource();
    const alice = member();
    const bob = member();
    const leaveAlice = groups.join('alice', () => mine.source, alice.member);
    const leaveBob = groups.join('bob', () => theirs.source, bob.member);
    mine.events.push({ data: { n: 7 } });
    await waitFor(() => alice.received.length === 1, { timeoutMs: 2_000, message: "alice's event" });
    expect(bob.received).toEqual([]);
    leaveAlice();
    expect(mine.returned()).toBe(true);
    expect(theirs.returned()).toBe(false);
    expect(groups.count).toBe(1);
    leaveBob();
    expect(groups.count).toBe(0);
  });

  it('finishes every member with the failure when the upstream fails, and starts afresh for the next subscriber', async () => {
    const groups = new SubscriberGroups();
    const first = fakeSource();
    const members = [member(), member()];
    for (const { member: one } of members) groups.join('key', () => first.source, one);
    first.events.fail(new Error('the price service stopped'));
    await waitFor(() => members.every(({ finished }) => finished.length === 1), { timeoutMs: 2_000, message: 'both finished' });
    for (const { finished } of members) expect(finished[0]?.errors?.[0]?.message).toBe('the price service stopped');
    expect(groups.count).toBe(0);
    const second = fakeSource();
    const late = member();
    groups.join('key', () => second.source, late.member);
    second.events.push({ data: { n: 3 } });
    await waitFor(() => late.received.length === 1, { timeoutMs: 2_000, message: 'the new group to deliver' });
    expect(first.completed).toHaveLength(0);
  });

  it('counts only the deliveries a socket took', async () => {
    const groups = new SubscriberGroups();
    const upstream = fakeSource();
    const taking = member();
    const closed: Member = { deliver: () => false, finish: () => {} };
    groups.join('key', () => upstream.source, taking.member);
    groups.join('key', () => upstream.source, closed);
    upstream.events.push({ data: { n: 1 } });
    await waitFor(() => taking.received.length === 1, { timeoutMs: 2_000, message: 'the event' });
    expect(groups.deliveries).toBe(1);
  });
});
