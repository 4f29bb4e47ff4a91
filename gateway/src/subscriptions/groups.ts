import type { ExecutionResult } from 'graphql';
import type { Event } from './upstream.js';

/** One subscriber of a group: where its events go. */
export interface Member {
  /** One event, already serialised as the `payload` of a graphql-ws `next` message (shared by every member); false if not written. */
  deliver(payload: string): boolean;
  /** The group ended: with one last result (its errors) or, when the upstream completed, none. */
  finish(last: ExecutionResult | undefined): void;
}

/** What a new group runs: the upstream's events, and the plan's `Rest` that completes each one. */
export interface GroupSource {
  events: AsyncIterableIterator<Event>;
  complete(event: Event): Promise<ExecutionResult>;
  /** The last result for an upstream that failed (a public error, never a stack). */
  failure(error: unknown): ExecutionResult;
}

interface Group {
  members: Set<Member>;
  events: AsyncIterableIterator<Event>;
}

/**
 * Subscribers whose operation, variables and visibility are the same form a group: each event is completed once
 * (the plan's entity fetches made once for all of them) and serialised once, and that one string is written to
 * every member's socket. The gateway's work per event therefore grows with the number of distinct groups, not
 * with the number of subscribers. The group's key says who may share: the caller decides it (a personal feed's
 * key names its user, so no event of one user is ever completed for, or sent to, another).
 */
export class SubscriberGroups {
  readonly #groups = new Map<string, Group>();
  /** Events completed (one per event per group), for metrics and benchmarks. */
  executions = 0;
  /** Events written to members (one per event per member whose socket took it). */
  deliveries = 0;

  /** Groups with at least one member. */
  get count(): number {
    return this.#groups.size;
  }

  /** Subscribers in every group. */
  get members(): number {
    let members = 0;
    for (const group of this.#groups.values()) members += group.members.size;
    return members;
  }

  /** Adds `member` to the group of `key`, starting it with `start()` if there is none; returns how to leave. */
  join(key: string, start: () => GroupSource, member: Member): () => void {
    let group = this.#groups.get(key);
    if (!group) {
      const source = start();
      group = { members: new Set(), events: source.events };
      this.#groups.set(key, group);
      void this.#run(key, group, source);
    }
    const joined = group;
    joined.members.add(member);
    return () => {
      if (!joined.members.delete(member) || joined.members.size > 0) return;
      this.#end(key, joined);
      // The upstream's iterator ends at once (graphql-ws keeps no reference to it): the pending next() settles done.
      void joined.events.return?.();
    };
  }

  #end(key: string, group: Group) {
    if (this.#groups.get(key) === group) this.#groups.delete(key);
  }

  async #run(key: string, group: Group, source: GroupSource): Promise<void> {
    let last: ExecutionResult | undefined;
    try {
      for (;;) {
        const step = await source.events.next();
        if (step.done || group.members.size === 0) break;
        const result = await source.complete(step.value);
        this.executions += 1;
        // GraphQLError has toJSON: the errors serialise as graphql-ws would send them.
        const payload = JSON.stringify(result);
        for (const member of group.members) if (member.deliver(payload)) this.deliveries += 1;
      }
    } catch (error) {
      last = source.failure(error);
    }
    // Out of the map first: a subscriber arriving now starts a fresh group rather than joining one that is over.
    this.#end(key, group);
    const members = [...group.members];
    group.members.clear();
    for (const member of members) member.finish(last);
  }
}
