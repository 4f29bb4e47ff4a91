import { badInput } from './errors.js';
import { isUuid } from './ids.js';

/** The most items one page may hold, everywhere in the API. */
export const PAGE_SIZE_MAX = 100;

export interface Page<Node> {
  edges: { cursor: string; node: Node }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** An opaque cursor: the position (time, id) of the last item seen, in newest-first order. */
export const encodeCursor = (at: Date, id: string) => Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');

/** The position in a cursor this API gave out; anything else is BAD_USER_INPUT on `after`. */
export function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(at);
    if (Number.isNaN(date.getTime()) || !isUuid(id)) throw new Error('bad cursor');
    return { at: date, id };
  } catch {
    throw badInput('`after` is not a cursor this API gave out', { field: 'after' });
  }
}

export function checkPageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > PAGE_SIZE_MAX) throw badInput(`first must be between 1 and ${PAGE_SIZE_MAX}`, { field: 'first' });
  return first;
}

/** A page from up to `first + 1` rows fetched: the extra row only tells that there is a next page. */
export function pageOf<Node>(rows: Node[], first: number, cursorOf: (node: Node) => string): Page<Node> {
  const edges = rows.slice(0, first).map((node) => ({ cursor: cursorOf(node), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}
