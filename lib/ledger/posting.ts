import { z } from 'zod';
import { internalCall } from '../internal-contract.js';
import { CURRENCIES } from '../money.js';

/**
 * The contract of the user subgraph's internal posting endpoint (`POST /internal/postings`), shared by the
 * user subgraph that applies postings and the services that ask for them. Amounts are signed integers in
 * minor units, as strings, so no float ever touches money.
 */
export const SYSTEM_ACCOUNTS = ['external', 'market', 'retired'] as const;
export type SystemAccount = (typeof SYSTEM_ACCOUNTS)[number];

export const POSTING_PATH = '/internal/postings';
export const POSTING_ENTRIES_MAX = 16;

const signedMinor = z.string().regex(/^-?[1-9]\d{0,77}$/, 'must be a non-zero integer in minor units, as a string');

export const postingAccountSchema = z.union([z.strictObject({ userId: z.uuid() }), z.strictObject({ system: z.enum(SYSTEM_ACCOUNTS) })]);
export type PostingAccount = z.infer<typeof postingAccountSchema>;

export const postingEntrySchema = z.strictObject({
  account: postingAccountSchema,
  currency: z.enum(CURRENCIES),
  amountMinor: signedMinor,
});

export const postingRequestSchema = z.strictObject({
  /** The business transaction's id: applying the same id twice changes balances once. */
  id: z.uuid(),
  kind: z.string().regex(/^[a-z][a-z_]{0,39}$/, 'must be a lower-case word like "transfer"'),
  entries: z.array(postingEntrySchema).min(2).max(POSTING_ENTRIES_MAX),
});
export type PostingRequest = z.infer<typeof postingRequestSchema>;

const appliedEntrySchema = z.object({
  walletId: z.uuid(),
  account: postingAccountSchema,
  currency: z.enum(CURRENCIES),
  amountMinor: signedMinor,
  balanceAfterMinor: z.string().regex(/^(0|-?[1-9]\d{0,77})$/),
});
export type AppliedEntry = z.infer<typeof appliedEntrySchema>;

export const postingResultSchema = z.object({
  id: z.uuid(),
  /** APPLIED now, or ALREADY_APPLIED by an earlier call with the same id and the same entries. */
  status: z.enum(['APPLIED', 'ALREADY_APPLIED']),
  entries: z.array(appliedEntrySchema).max(POSTING_ENTRIES_MAX),
});
export type PostingResult = z.infer<typeof postingResultSchema>;

export const postingCall = internalCall(POSTING_PATH, postingRequestSchema, postingResultSchema);
