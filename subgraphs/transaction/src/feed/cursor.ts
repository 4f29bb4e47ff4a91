import { badInput } from '../../../../lib/errors.js';

const CURSOR_PATTERN = /^v1:([1-9]\d{0,14})$/;

/** An opaque feed cursor: the number of the user's entry it follows, versioned so its shape can change. */
export const encodeFeedCursor = (seq: number) => Buffer.from(`v1:${seq}`).toString('base64url');

/** The entry number in a cursor this API gave out; anything else is BAD_USER_INPUT on `after`. */
export function decodeFeedCursor(cursor: string): number {
  const match = CURSOR_PATTERN.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match || encodeFeedCursor(Number(match[1])) !== cursor) throw badInput('`after` is not a cursor of transactionFeed', { field: 'after' });
  return Number(match[1]);
}
