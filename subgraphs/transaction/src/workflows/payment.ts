import { signedIn } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { badInput } from '../../../../lib/errors.js';
import { isUuid } from '../../../../lib/ids.js';
import { type Currency, parseAmount } from '../../../../lib/money.js';
import type { TransactionRow } from '../db/schema.js';
import type { TransactionDeps } from '../deps.js';
import { resultOf, runTransaction } from './engine.js';
import { checkIdempotencyKey, checkText, lookUpUser } from './input-checks.js';
import { present, type Workflow } from './workflow.js';

const REFERENCE_LENGTH_MAX = 100;

/** A buyer pays a SELLER, with a reference the seller sees. */
export const paymentWorkflow: Workflow = {
  kind: 'payment',
  type: 'PAYMENT',
  entries: (payment) => [
    { account: { userId: present(payment.fromUserId, 'fromUserId') }, currency: payment.currency, amountMinor: String(-payment.amount) },
    { account: { userId: present(payment.toUserId, 'toUserId') }, currency: payment.currency, amountMinor: String(payment.amount) },
  ],
  mutations: (deps) => ({
    pay: (_parent, { input, idempotencyKey }, { identity }) => pay(deps, signedIn(identity), input, idempotencyKey),
  }),
  eventData: () => ({ type: 'PAYMENT' }),
};

export async function pay(deps: TransactionDeps, identity: Identity, input: { sellerId: string; currency: Currency; amount: string; reference: string }, idempotencyKey: string): Promise<TransactionRow> {
  checkIdempotencyKey(idempotencyKey);
  const amountMinor = parseAmount(input.amount, input.currency);
  const reference = checkText(input.reference, 'reference', REFERENCE_LENGTH_MAX, true);
  if (!isUuid(input.sellerId)) throw badInput('sellerId is not a user id', { field: 'sellerId' });
  const seller = await lookUpUser(deps, { id: input.sellerId });
  if (seller.role !== 'SELLER') throw badInput('Payments go to sellers only; use a transfer to pay anyone else', { field: 'sellerId' });
  if (seller.id === identity.userId) throw badInput('You cannot pay yourself', { field: 'sellerId' });
  const transaction = {
    initiatorId: identity.userId,
    idempotencyKey,
    fromUserId: identity.userId,
    toUserId: seller.id,
    currency: input.currency,
    amount: amountMinor,
    reference,
    request: { toUserId: seller.id, currency: input.currency, amountMinor: String(amountMinor), reference },
  };
  return resultOf(await runTransaction(deps, paymentWorkflow, transaction));
}
