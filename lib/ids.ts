import { createHash } from 'node:crypto';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else is answered as "not found" or "bad input" before it reaches SQL. */
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID_PATTERN.test(value);

/**
 * A UUID fixed by a purpose and an id (RFC 9562 version 8, from SHA-256): the same inputs give the same UUID,
 * so a follow-up record (a withdrawal's reversal posting) is as idempotent as the record it follows.
 */
export function derivedUuid(purpose: string, id: string): string {
  const bytes = createHash('sha256').update(`${purpose}:${id}`).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
