import { and, desc, eq, gte, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { Identity } from '../../../../lib/auth/identity.js';
import type { Currency } from '../../../../lib/money.js';
import { BatchedRead } from '../../../../lib/server/request-loaders.js';
import { checkPageSize, decodeCursor, encodeCursor, type Page, pageOf } from '../../../../lib/paging.js';
import { type RetirementRow, retirements, type TransactionRow, transactions } from '../db/schema.js';
import type { TransactionDb } from '../db/database.js';

export interface TransactionFilter {
  type?: TransactionRow['type'] | null;
  status?: TransactionRow['status'] | null;
  currency?: Currency | null;
  from?: Date | null;
  to?: Date | null;
}

/**
 * The transactions `userId` may see (paid, asked for, or received once completed), newest first. Read as the
 * union of three pages, one per way of being a party, each walked in order on its own index (user, created_at,
 * id): one OR over the three columns cannot use them in order, and for a user with many transactions
 * PostgreSQL read the whole table and sorted it.
 */
export async function transactionsOf(db: TransactionDb, userId: string, page: { first: number; after?: string | null; filter?: TransactionFilter | null }): Promise<Page<TransactionRow>> {
  const first = checkPageSize(page.first);
  const filter = page.filter ?? {};
  const conditions: (SQL | undefined)[] = [
    filter.type ? eq(transactions.type, filter.type) : undefined,
    filter.status ? eq(transactions.status, filter.status) : undefined,
    filter.currency ? eq(transactions.currency, filter.currency) : undefined,
    filter.from ? gte(transactions.createdAt, filter.from) : undefined,
    filter.to ? lt(transactions.createdAt, filter.to) : undefined,
  ];
  if (page.after) {
    const { at, id } = decodeCursor(page.after);
    conditions.push(sql`(${transactions.createdAt}, ${transactions.id}) < (${at.toISOString()}::timestamptz, ${id}::uuid)`);
  }
  const newestFirst = [desc(transactions.createdAt), desc(transactions.id)];
  const pageAs = (party: SQL | undefined) =>
    db
      .select({ id: transactions.id })
      .from(transactions)
      .where(and(party, ...conditions))
      .orderBy(...newestFirst)
      .limit(first + 1);
  const paid = pageAs(eq(transactions.fromUserId, userId));
  const asked = pageAs(eq(transactions.initiatorId, userId));
  const received = pageAs(and(eq(transactions.toUserId, userId), eq(transactions.status, 'COMPLETED')));
  const rows = await db
    .select()
    .from(transactions)
    .where(inArray(transactions.id, sql`(${paid} union ${asked} union ${received})`))
    .orderBy(...newestFirst)
    .limit(first + 1);
  return pageOf(rows, first, (row) => encodeCursor(row.createdAt, row.id));
}

export async function retirementsOf(db: TransactionDb, userId: string, page: { first: number; after?: string | null }): Promise<Page<RetirementRow>> {
  const first = checkPageSize(page.first);
  const conditions: SQL[] = [eq(retirements.userId, userId)];
  if (page.after) {
    const { at, id } = decodeCursor(page.after);
    conditions.push(sql`(${retirements.retiredAt}, ${retirements.id}) < (${at.toISOString()}::timestamptz, ${id}::uuid)`);
  }
  const rows = await db
    .select()
    .from(retirements)
    .where(and(...conditions))
    .orderBy(desc(retirements.retiredAt), desc(retirements.id))
    .limit(first + 1);
  return pageOf(rows, first, (row) => encodeCursor(row.retiredAt, row.id));
}

/**
 * Who sees a transaction: the payer and the one who asked, always; an ADMIN; and the payee once it has COMPLETED.
 * A pending or refused transfer or payment is the payer's business alone: its failure text tells of the payer's
 * balance, and the payee has received nothing.
 */
export function isParty(identity: Identity, row: PartyFields): boolean {
  return identity.role === 'ADMIN' || partyUserIds(row).includes(identity.userId);
}

type PartyFields = Pick<TransactionRow, 'fromUserId' | 'toUserId' | 'initiatorId' | 'status'>;

/** The users who see a transaction in its status now (as `isParty` says, ADMINs aside), each once. */
export function partyUserIds(row: PartyFields): string[] {
  const parties = [row.fromUserId, row.initiatorId, row.status === 'COMPLETED' ? row.toUserId : null];
  return [...new Set(parties.filter((userId): userId is string => userId !== null))];
}

/** The transaction subgraph's batched reads (lib/server/request-loaders.ts), made once and shared by its resolvers. */
export interface TransactionReads {
  /** Transactions by id that the caller is a party to (`isParty`); none for an anonymous caller. */
  visibleTransactions: BatchedRead<TransactionRow>;
  /** Retirements by id (a retirement's id is its transaction's): callers have checked the transaction is visible. */
  retirements: BatchedRead<RetirementRow>;
}

export function transactionReads(db: TransactionDb): TransactionReads {
  return {
    visibleTransactions: new BatchedRead(async (ids, identity) => {
      if (identity === null) return [];
      const rows = await db.select().from(transactions).where(inArray(transactions.id, ids));
      return rows.filter((row) => isParty(identity, row));
    }, (row) => row.id),
    retirements: new BatchedRead((ids) => db.select().from(retirements).where(inArray(retirements.id, ids)), (row) => row.id),
  };
}
