import { z } from 'zod';
import { ROLES } from '../auth/identity.js';
import { internalCall } from '../internal-contract.js';

/** The user subgraph's internal lookup (`POST /internal/users/lookup` with `{ id }` or `{ email }`). */
export const USER_LOOKUP_PATH = '/internal/users/lookup';

export const EMAIL_LENGTH_MAX = 254;

export const userLookupRequestSchema = z.union([z.strictObject({ id: z.uuid() }), z.strictObject({ email: z.string().min(1).max(EMAIL_LENGTH_MAX) })]);

export const userSummarySchema = z.object({
  id: z.uuid(),
  role: z.enum(ROLES),
  displayName: z.string(),
});
export type UserSummary = z.infer<typeof userSummarySchema>;

export const userLookupCall = internalCall(USER_LOOKUP_PATH, userLookupRequestSchema, userSummarySchema);
