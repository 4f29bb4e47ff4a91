import { issueUserToken } from '../../../../lib/auth/user-token.js';
import { authenticate, identityOf, registerUser } from '../accounts/accounts.js';
import type { UserRow } from '../db/schema.js';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import { asSignedIn } from './User.js';
import type { UserServiceDeps } from '../deps.js';

export const mutationResolvers = (deps: UserServiceDeps): MutationResolvers => {
  const signIn = async (user: UserRow) => ({ ...(await issueUserToken(identityOf(user), deps.tokens)), user: asSignedIn(user) });
  return {
    async register(_parent, { input }) {
      return signIn(await registerUser(deps.db, input));
    },
    async login(_parent, { email, password }) {
      return signIn(await authenticate(deps.db, email, password));
    },
  };
};
