import { AppError, forbidden } from '../../../../lib/errors.js';
import { contractRoute } from '../../../../lib/internal-contract.js';
import { postingCall } from '../../../../lib/ledger/posting.js';
import type { InternalRoute } from '../../../../lib/server/subgraph-server.js';
import type { UserServiceDeps } from '../deps.js';
import { applyPosting } from './apply-posting.js';

/** `POST /internal/postings`: for other services only, never for the gateway and so never for a client. */
export const postingRoute = (deps: UserServiceDeps): InternalRoute =>
  contractRoute(postingCall, {
    authorize: (caller) => {
      if (caller.kind !== 'service') throw forbidden('Postings are applied for services only');
    },
    handle: async ({ body }) => {
      try {
        const result = await applyPosting(deps.db, body);
        return { status: result.status === 'APPLIED' ? 201 : 200, body: result };
      } catch (error) {
        // The CHECK constraint is the last line of defence; reaching it means the code above missed a case.
        if ((error as { cause?: { constraint_name?: string } }).cause?.constraint_name === 'wallets_balance_not_negative') {
          throw new AppError('INSUFFICIENT_FUNDS', 'Insufficient funds');
        }
        throw error;
      }
    },
  });
