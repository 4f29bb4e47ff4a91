import { and, eq } from 'drizzle-orm';
import { forbidden } from '../../../../lib/errors.js';
import { contractRoute } from '../../../../lib/internal-contract.js';
import { marketStockCall } from '../../../../lib/ledger/market-stock.js';
import type { InternalRoute } from '../../../../lib/server/subgraph-server.js';
import { wallets } from '../db/schema.js';
import type { UserServiceDeps } from '../deps.js';

/** `POST /internal/market/stock`: the market desk's CARBON, for services only (a quote is never larger). */
export const marketStockRoute = (deps: UserServiceDeps): InternalRoute =>
  contractRoute(marketStockCall, {
    authorize: (caller) => {
      if (caller.kind !== 'service') throw forbidden('The market stock is read by services only');
    },
    handle: async () => {
      const [wallet] = await deps.db
        .select({ balance: wallets.balance })
        .from(wallets)
        .where(and(eq(wallets.systemAccount, 'market'), eq(wallets.currency, 'CARBON')));
      // The market's wallets are made by the first migration; without one the ledger is not what this code knows.
      if (!wallet) throw new Error('the market account has no CARBON wallet');
      return { status: 200, body: { carbonMinor: String(wallet.balance) } };
    },
  });
