import type { Role } from '../auth/identity.js';

/** The user subgraph's internal lookup (`POST /internal/users/lookup` with `{ id }` or `{ email }`). */
export const USER_LOOKUP_PATH = '/internal/users/lookup';

export interface UserSummary {
  id: string;
  role: Role;
  displayName: string;
}
