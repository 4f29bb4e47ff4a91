import { issueUserToken } from '../../../../lib/auth/user-token.js';
import { authenticate, identityOf, type Registration, registerUser } from '../accounts/accounts.js';
import type { UserRow } from '../db/schema.js';
import { asSignedIn } from './User.js';
import type { UserServiceDeps } from './context.js';

export const mutationResolvers = (deps: UserServiceDeps) => {
  const signIn = async (user: UserRow) => ({ ...(await issueUserToken(identityOf(user), deps.tokens)), user: asSignedIn(user) });
  return {
    async register(_parent: unknown, { input }: { input: Registration }) {
      return signIn(await registerUser(deps.db, input));
    },
    async login(_parent: unknown, { email, password }: { email: string; password: string }) {
      return signIn(await authenticate(deps.db, email, password));
    },
  };
};
