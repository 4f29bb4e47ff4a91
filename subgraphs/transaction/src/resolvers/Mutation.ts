import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { quoteCarbonPurchase, purchaseCarbonCredits, retireCarbonCredits, supplyMarket } from '../workflows/carbon.js';
import { signedIn } from '../workflows/context.js';
import { deposit, pay, transfer } from '../workflows/money-movements.js';
import { withdrawCarbon } from '../workflows/withdrawal.js';
import type { TransactionServiceDeps } from './context.js';

type Args<Input> = { input: Input; idempotencyKey: string };

/** Every mutation needs a signed-in caller; the workflows check everything else. */
export const mutationResolvers = (deps: TransactionServiceDeps) => ({
  deposit: (_parent: unknown, { input, idempotencyKey }: Args<Parameters<typeof deposit>[2]>, { identity }: SubgraphContext) =>
    deposit(deps, signedIn(identity), input, idempotencyKey),
  transfer: (_parent: unknown, { input, idempotencyKey }: Args<Parameters<typeof transfer>[2]>, { identity }: SubgraphContext) =>
    transfer(deps, signedIn(identity), input, idempotencyKey),
  pay: (_parent: unknown, { input, idempotencyKey }: Args<Parameters<typeof pay>[2]>, { identity }: SubgraphContext) => pay(deps, signedIn(identity), input, idempotencyKey),
  quoteCarbonPurchase: (_parent: unknown, { input }: { input: Parameters<typeof quoteCarbonPurchase>[2] }, { identity }: SubgraphContext) =>
    quoteCarbonPurchase(deps, signedIn(identity), input),
  purchaseCarbonCredits: (_parent: unknown, { input, idempotencyKey }: Args<Parameters<typeof purchaseCarbonCredits>[2]>, { identity }: SubgraphContext) =>
    purchaseCarbonCredits(deps, signedIn(identity), input, idempotencyKey),
  retireCarbonCredits: (_parent: unknown, { input, idempotencyKey }: Args<Parameters<typeof retireCarbonCredits>[2]>, { identity }: SubgraphContext) =>
    retireCarbonCredits(deps, signedIn(identity), input, idempotencyKey),
  supplyMarket: (_parent: unknown, { input, idempotencyKey }: Args<Parameters<typeof supplyMarket>[2]>, { identity }: SubgraphContext) =>
    supplyMarket(deps, signedIn(identity), input, idempotencyKey),
  withdrawCarbon: (_parent: unknown, { input, idempotencyKey }: Args<Parameters<typeof withdrawCarbon>[2]>, { identity }: SubgraphContext) =>
    withdrawCarbon(deps, signedIn(identity), input, idempotencyKey),
});
