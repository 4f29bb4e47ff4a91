import { isUuid } from '../../../../lib/ids.js';
import { and, desc, eq, gte, lt, or, type SQL, sql } from 'drizzle-orm';
import type { Identity } from '../../../../lib/auth/identity.js';
import { badInput } from '../../../../lib/errors.js';
import type { Currency } from '../../../../lib/money.js';
import { type RetirementRow, retirements, type TransactionRow, transactions } from '../db/schema.js';
import type { TransactionDb } from '../workflows/engine.js';

export const PAGE_SIZE_MAX = 100;

export interface TransactionFilter {
  type?: TransactionRow['type'] | null;
  status?: TransactionRow['status'] | null;
  currency?: Currency | null;
  from?: Date | null;
  to?: Date | null;
}

export interface Page<Node> {
  edges: { cursor: string; node: Node }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** An opaque cursor: the position (time, id) of the last item seen, in newest-first order. */
const encodeCursor = (at: Date, id: string) => Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');

function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(at);
    if (Number.isNaN(date.getTime()) || !isUuid(id)) throw new Error('bad cursor');
    return { at: date, id };
  } catch {
    throw badInput('`after` is not a cursor this API gave out', { field: 'after' });
  }
}

function checkPageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > PAGE_SIZE_MAX) throw badInput(`first must be between 1 and ${PAGE_SIZE_MAX}`, { field: 'first' });
  return first;
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

function pageOf<Node>(rows: Node[], first: number, cursorOf: (node: Node) => string): Page<Node> {
  const nodes = rows.slice(0, first);
  const edges = nodes.map((node) => ({ cursor: cursorOf(node), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
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
