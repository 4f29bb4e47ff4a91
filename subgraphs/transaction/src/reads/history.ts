import { isUuid } from '../../../../lib/ids.js';
import { and, desc, eq, gte, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Identity } from '../../../../lib/auth/identity.js';
import type { Currency } from '../../../../lib/money.js';
import { checkPageSize, decodeCursor, encodeCursor, type Page, pageOf } from '../../../../lib/paging.js';
import { type RetirementRow, retirements, type TransactionRow, transactions } from '../db/schema.js';
import type { TransactionDb } from '../workflows/engine.js';

export interface TransactionFilter {
  type?: TransactionRow['type'] | null;
  status?: TransactionRow['status'] | null;
  currency?: Currency | null;
  from?: Date | null;
  to?: Date | null;
}

/** The transactions `userId` took part in (paid, received or asked for), newest first. */
export async function transactionsOf(db: TransactionDb, userId: string, page: { first: number; after?: string | null; filter?: TransactionFilter | null }): Promise<Page<TransactionRow>> {
  const first = checkPageSize(page.first);
  const filter = page.filter ?? {};
  const conditions: (SQL | undefined)[] = [
    or(eq(transactions.fromUserId, userId), eq(transactions.toUserId, userId), eq(transactions.initiatorId, userId)),
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
  const rows = await db
    .select()
    .from(transactions)
    .where(and(...conditions))
    .orderBy(desc(transactions.createdAt), desc(transactions.id))
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

/** A party to a transaction (payer, payee or the one who asked) sees it; so does an ADMIN; nobody else. */
export function isParty(identity: Identity, row: Pick<TransactionRow, 'fromUserId' | 'toUserId' | 'initiatorId'>): boolean {
  return identity.role === 'ADMIN' || [row.fromUserId, row.toUserId, row.initiatorId].includes(identity.userId);
}

export async function visibleTransaction(db: TransactionDb, identity: Identity, id: unknown): Promise<TransactionRow | null> {
  if (!isUuid(id)) return null;
  const [row] = await db.select().from(transactions).where(eq(transactions.id, id));
  return row && isParty(identity, row) ? row : null;
}
