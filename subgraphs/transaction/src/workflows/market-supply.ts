import { signedIn } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { forbidden } from '../../../../lib/errors.js';
import { parseAmount } from '../../../../lib/money.js';
import type { TransactionRow } from '../db/schema.js';
import type { TransactionDeps } from '../deps.js';
import { resultOf, runTransaction } from './engine.js';
import { checkIdempotencyKey } from './input-checks.js';
import type { Workflow } from './workflow.js';

/** Carbon credits onto the market desk from outside (ADMIN): the stock that purchases draw on. */
export const marketSupplyWorkflow: Workflow = {
  kind: 'market_supply',
  type: 'MARKET_SUPPLY',
  entries: (supply) => [
    { account: { system: 'external' }, currency: 'CARBON', amountMinor: String(-supply.amount) },
    { account: { system: 'market' }, currency: 'CARBON', amountMinor: String(supply.amount) },
  ],
  mutations: (deps) => ({
    supplyMarket: (_parent, { input, idempotencyKey }, { identity }) => supplyMarket(deps, signedIn(identity), input, idempotencyKey),
  }),
  eventData: () => ({ type: 'MARKET_SUPPLY' }),
};

export async function supplyMarket(deps: TransactionDeps, identity: Identity, input: { tonnes: string }, idempotencyKey: string): Promise<TransactionRow> {
  checkIdempotencyKey(idempotencyKey);
  if (identity.role !== 'ADMIN') throw forbidden('Only administrators supply the market');
  const carbonMinor = parseAmount(input.tonnes, 'CARBON', 'tonnes');
  const transaction = {
    initiatorId: identity.userId,
    idempotencyKey,
    currency: 'CARBON' as const,
    amount: carbonMinor,
    request: { carbonMinor: String(carbonMinor) },
  };
  return resultOf(await runTransaction(deps, marketSupplyWorkflow, transaction));
}
