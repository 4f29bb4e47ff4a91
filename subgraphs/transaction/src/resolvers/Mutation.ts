import type { MutationResolvers } from '../generated/resolvers-types.js';
import { quoteCarbonPurchase, purchaseCarbonCredits, retireCarbonCredits, supplyMarket } from '../workflows/carbon.js';
import { signedIn } from '../workflows/context.js';
import { deposit, pay, transfer } from '../workflows/money-movements.js';
import { withdrawCarbon } from '../workflows/withdrawal.js';
import type { TransactionServiceDeps } from './context.js';

/** Every mutation needs a signed-in caller; the workflows check everything else. */
export const mutationResolvers = (deps: TransactionServiceDeps): MutationResolvers => ({
  deposit: (_parent, { input, idempotencyKey }, { identity }) =>
    deposit(deps, signedIn(identity), input, idempotencyKey),
  transfer: (_parent, { input, idempotencyKey }, { identity }) =>
    transfer(deps, signedIn(identity), input, idempotencyKey),
  pay: (_parent, { input, idempotencyKey }, { identity }) => pay(deps, signedIn(identity), input, idempotencyKey),
  quoteCarbonPurchase: (_parent, { input }, { identity }) =>
    quoteCarbonPurchase(deps, signedIn(identity), input),
  purchaseCarbonCredits: (_parent, { input, idempotencyKey }, { identity }) =>
    purchaseCarbonCredits(deps, signedIn(identity), input, idempotencyKey),
  retireCarbonCredits: (_parent, { input, idempotencyKey }, { identity }) =>
    retireCarbonCredits(deps, signedIn(identity), input, idempotencyKey),
  supplyMarket: (_parent, { input, idempotencyKey }, { identity }) =>
    supplyMarket(deps, signedIn(identity), input, idempotencyKey),
  withdrawCarbon: (_parent, { input, idempotencyKey }, { identity }) =>
    withdrawCarbon(deps, signedIn(identity), input, idempotencyKey),
});
