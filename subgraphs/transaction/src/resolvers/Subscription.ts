import type { Identity } from '../../../../lib/auth/identity.js';
import type { Event } from '../../../../lib/events/contracts/index.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import type { SubscriptionResolvers } from '../generated/resolvers-types.js';
import { isParty, type TransactionReads } from '../reads/history.js';
import { signedIn } from '../../../../lib/auth/access.js';
import { badInput } from '../../../../lib/errors.js';
import type { TransactionDb } from '../db/database.js';
import { decodeFeedCursor, encodeFeedCursor } from '../feed/cursor.js';
import { type FeedEntry, feedEntriesAfter, feedHeadOf, firstKeptAfter } from '../feed/entries.js';
import { cursorExpired, followFeed } from '../feed/follow.js';
import type { TransactionFeedTopic, TransactionServiceDeps } from '../deps.js';

type FeedEvent = Event<TransactionFeedTopic>;

/** The transaction an event changed, if the caller is a party to it; null for events that change none. */
function changedTransaction(caller: Identity, event: FeedEvent): string | null {
  if (event.type === 'transaction.status') return isParty(caller, event.data) ? event.data.transactionId : null;
  if (event.data.kind !== 'RETIREMENT_CHAIN_STATUS') return null;
  // A retirement is its owner's alone: they asked for it and paid for it.
  const owner = { fromUserId: event.data.userId, toUserId: null, initiatorId: event.data.userId, status: 'COMPLETED' as const };
  return isParty(caller, owner) ? event.data.retirementId : null;
}

/** Whether an event may concern the user's feed: only a wake-up, so any party will do, whatever they may see. */
function wakesFeedOf(userId: string, event: FeedEvent): boolean {
  if (event.type !== 'transaction.status') return false;
  return [event.data.fromUserId, event.data.toUserId, event.data.initiatorId].includes(userId);
}

/** Refuses a cursor the user's feed never gave (BAD_USER_INPUT) or whose following entries were pruned (CURSOR_EXPIRED). */
async function checkKept(db: TransactionDb, userId: string, afterSeq: number): Promise<void> {
  const headSeq = await feedHeadOf(db, userId);
  if (afterSeq > headSeq) throw badInput('`after` is not a cursor of your transactionFeed', { field: 'after' });
  if (afterSeq === headSeq) return;
  if ((await firstKeptAfter(db, userId, afterSeq)) !== afterSeq + 1) throw cursorExpired();
}

export const subscriptionResolvers = (deps: TransactionServiceDeps, reads: TransactionReads): SubscriptionResolvers => ({
  transactionUpdated: {
    subscribe: (_parent, _args, { identity }) => {
      const caller = signedIn(identity);
      return deps.feed.subscribe((event) => changedTransaction(caller, event) !== null);
    },
    // The event says which transaction changed; its current state comes from the table, checked again.
    async resolve(event: FeedEvent, _args: unknown, { identity, loaders }: SubgraphContext) {
      const caller = signedIn(identity);
      const id = changedTransaction(caller, event);
      const row = id ? await reads.visibleTransactions.one(loaders, id) : null;
      // The feed passes only the caller's own transactions, so this is a bug, not a refusal.
      if (!row) throw new Error(`${event.type} event ${event.id} about a transaction its party cannot see`);
      return row;
    },
  },
  transactionFeed: {
    subscribe: async (_parent, { after }, { identity }) => {
      const caller = signedIn(identity);
      const afterSeq = after === undefined || after === null ? null : decodeFeedCursor(after);
      // Listening before reading: a change committed after the first read still wakes the reader.
      const wakes = deps.feed.subscribe((event) => wakesFeedOf(caller.userId, event));
      try {
        if (afterSeq !== null) await checkKept(deps.db, caller.userId, afterSeq);
        const startSeq = afterSeq ?? (await feedHeadOf(deps.db, caller.userId));
        return followFeed({ read: (seq, limit) => feedEntriesAfter(deps.db, caller.userId, seq, limit), afterSeq: startSeq, wakes });
      } catch (error) {
        await wakes.return?.();
        throw error;
      }
    },
    resolve(entry: FeedEntry, _args: unknown, { identity }: SubgraphContext) {
      // Entries are written for the parties only, so this is a bug, not a refusal.
      if (!isParty(signedIn(identity), entry.transaction)) throw new Error(`feed entry ${entry.seq} about a transaction its user cannot see`);
      return { cursor: encodeFeedCursor(entry.seq), status: entry.status, transaction: entry.transaction };
    },
  },
});
