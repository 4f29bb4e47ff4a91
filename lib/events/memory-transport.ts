import { backoffDelayMs } from '../backoff.js';
import { runWithRequestId } from '../request-id.js';
import type { Envelope, Topic } from './envelope.js';
import type { EventMetadata, EventTransport, SubscribeOptions, Subscription } from './transport.js';

/** Envelopes kept for groups that subscribe `fromBeginning` later in the same process. */
const HISTORY_LENGTH_MAX = 10_000;
const REDELIVERY_DELAY_MAX_MS = 5_000;
/** The wait before the first redelivery; it doubles per failure up to the maximum. */
const REDELIVERY_DELAY_BASE_MS = 20;

interface Delivery {
  envelope: Envelope;
  metadata: EventMetadata;
}

interface Member {
  options: SubscribeOptions;
  queue: Delivery[];
  draining: boolean;
  closed: boolean;
}

/**
 * The in-process bus for `npm start` without KAFKA_BROKERS: the same contract as Kafka within one process.
 * Each group gets every envelope; within a group, envelopes with the same key go to the same member, in order;
 * a failing handler gets the envelope again after a growing delay, and nothing after it overtakes it.
 * It keeps nothing across restarts: durability comes from the outbox, which republishes what was not sent.
 */
export function createMemoryTransport(): EventTransport {
  const groups = new Map<string, Member[]>();
  const history: Delivery[] = [];

  async function drain(member: Member) {
    if (member.draining) return;
    member.draining = true;
    let failures = 0;
    while (!member.closed && member.queue.length > 0) {
      const { envelope, metadata } = member.queue[0] as Delivery;
      try {
        await runWithRequestId(metadata.requestId, () => member.options.handle(structuredClone(envelope), { ...metadata }));
        member.queue.shift();
        failures = 0;
      } catch {
        failures += 1;
        await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(failures - 1, { baseMs: REDELIVERY_DELAY_BASE_MS, maxMs: REDELIVERY_DELAY_MAX_MS })));
      }
    }
    member.draining = false;
  }

  function deliver(delivery: Delivery) {
    const { envelope } = delivery;
    for (const members of groups.values()) {
      const candidates = members.filter((member) => !member.closed && member.options.topics.includes(envelope.type));
      if (candidates.length === 0) continue;
      const member = candidates[hashKey(envelope.key) % candidates.length] as Member;
      member.queue.push(delivery);
      void drain(member);
    }
  }

  return {
    async publish(envelopes, metadata) {
      for (const [index, envelope] of envelopes.entries()) {
        const delivery = { envelope, metadata: metadata?.[index] ?? {} };
        history.push(delivery);
        if (history.length > HISTORY_LENGTH_MAX) history.shift();
        deliver(delivery);
      }
    },
    async subscribe(options): Promise<Subscription> {
      const member: Member = { options, queue: [], draining: false, closed: false };
      const members = groups.get(options.groupId);
      if (members) members.push(member);
      else {
        groups.set(options.groupId, [member]);
        if (options.fromBeginning) {
          member.queue.push(...history.filter(({ envelope }) => options.topics.includes(envelope.type)));
          void drain(member);
        }
      }
      return {
        async lag() {
          const pending = new Map<Topic, number>(options.topics.map((topic) => [topic, 0]));
          for (const { envelope } of member.queue) pending.set(envelope.type, (pending.get(envelope.type) ?? 0) + 1);
          return [...pending].map(([topic, messages]) => ({ topic, messages }));
        },
        async close() {
          member.closed = true;
          const remaining = (groups.get(options.groupId) ?? []).filter((other) => other !== member);
          if (remaining.length === 0) groups.delete(options.groupId);
          else groups.set(options.groupId, remaining);
        },
      };
    },
    async close() {
      for (const members of groups.values()) for (const member of members) member.closed = true;
      groups.clear();
    },
  };
}

function hashKey(key: string): number {
  let hash = 0;
  for (let index = 0; index < key.length; index += 1) hash = (hash * 31 + key.charCodeAt(index)) >>> 0;
  return hash;
}
