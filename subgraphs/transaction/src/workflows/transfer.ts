import { signedIn } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { badInput } from '../../../../lib/errors.js';
import { type Currency, parseAmount } from '../../../../lib/money.js';
import type { TransactionRow } from '../db/schema.js';
import type { TransactionDeps } from '../deps.js';
import { resultOf, runTransaction } from './engine.js';
import { checkIdempotencyKey, checkText, userIdOf } from './input-checks.js';
import { present, type Workflow } from './workflow.js';

const MEMO_LENGTH_MAX = 200;
/** The longest email the user subgraph accepts (RFC 5321). */
const RECIPIENT_LENGTH_MAX = 254;

/** Between two different users, in one currency. */
export const transferWorkflow: Workflow = {
  kind: 'transfer',
  type: 'TRANSFER',
  entries: (transfer) => [
    { account: { userId: present(transfer.fromUserId, 'fromUserId') }, currency: transfer.currency, amountMinor: String(-transfer.amount) },
    { account: { userId: present(transfer.toUserId, 'toUserId') }, currency: transfer.currency, amountMinor: String(transfer.amount) },
  ],
  mutations: (deps) => ({
    transfer: (_parent, { input, idempotencyKey }, { identity }) => transfer(deps, signedIn(identity), input, idempotencyKey),
  }),
  eventData: () => ({ type: 'TRANSFER' }),
};

/** The recipient is named by user id or email. */
export async function transfer(deps: TransactionDeps, identity: Identity, input: { to: string; currency: Currency; amount: string; memo?: string | null }, idempotencyKey: string): Promise<TransactionRow> {
  checkIdempotencyKey(idempotencyKey);
  const amountMinor = parseAmount(input.amount, input.currency);
  const memo = checkText(input.memo, 'memo', MEMO_LENGTH_MAX, false);
  const to = input.to.trim();
  if (to === '' || to.length > RECIPIENT_LENGTH_MAX) throw badInput('to must be a user id or an email', { field: 'to' });
  const recipientId = await userIdOf(deps, to);
  if (recipientId === identity.userId) throw badInput('You cannot transfer to yourself', { field: 'to' });
  const transaction = {
    initiatorId: identity.userId,
    idempotencyKey,
    fromUserId: identity.userId,
    toUserId: recipientId,
    currency: input.currency,
    amount: amountMinor,
    memo,
    request: { toUserId: recipientId, currency: input.currency, amountMinor: String(amountMinor), memo },
  };
  return resultOf(await runTransaction(deps, transferWorkflow, transaction));
}
