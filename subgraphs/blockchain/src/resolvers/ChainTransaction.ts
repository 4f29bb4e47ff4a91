import { eq, inArray } from 'drizzle-orm';
import type { Identity } from '../../../../lib/auth/identity.js';
import { badInput } from '../../../../lib/errors.js';
import { isUuid } from '../../../../lib/ids.js';
import { BatchedRead } from '../../../../lib/server/request-loaders.js';
import type { ChainTransactionResolvers } from '../generated/resolvers-types.js';
import { type ChainTransactionRow, chainTransactions } from '../db/schema.js';
import { isOwnerOrAdmin, signedIn } from '../../../../lib/auth/access.js';
import type { BlockchainServiceDeps } from '../deps.js';

const HASH_PATTERN = /^0x[0-9a-fA-F]{64}$/;

/** A transaction its user or an ADMIN may see, by id or hash; anyone else gets null, as if it did not exist. */
export async function visibleChainTransaction(deps: BlockchainServiceDeps, identity: Identity | null, key: { id?: unknown; hash?: unknown }): Promise<ChainTransactionRow | null> {
  const caller = signedIn(identity);
  let condition;
  if (key.id != null) {
    if (!isUuid(key.id)) return null;
    condition = eq(chainTransactions.id, key.id);
  } else {
    if (typeof key.hash !== 'string' || !HASH_PATTERN.test(key.hash)) throw badInput('hash must be 0x and 64 hex digits', { field: 'hash' });
    condition = eq(chainTransactions.hash, key.hash.toLowerCase());
  }
  const [row] = await deps.db.select().from(chainTransactions).where(condition);
  if (!row || !isOwnerOrAdmin(caller, row.userId)) return null;
  return row;
}

/** `visibleChainTransaction` by id, batched per request (lib/server/request-loaders.ts), for references; none for an anonymous caller. */
const visibleChainTransactions = (deps: BlockchainServiceDeps) =>
  new BatchedRead<ChainTransactionRow>(async (ids, identity) => {
    if (!identity) return [];
    const rows = await deps.db.select().from(chainTransactions).where(inArray(chainTransactions.id, ids));
    return rows.filter((row) => isOwnerOrAdmin(identity, row.userId));
  }, (row) => row.id);

export const chainTransactionResolvers = (deps: BlockchainServiceDeps): ChainTransactionResolvers => {
  const visible = visibleChainTransactions(deps);
  return {
    __resolveReference: (reference, { loaders }) => visible.one(loaders, reference.id),
    blockNumber: (row) => row.blockNumber?.toString() ?? null,
  };
};
