import { isUuid } from '../../../../lib/ids.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { badInput } from '../../../../lib/errors.js';
import { type Currency, parseAmount } from '../../../../lib/money.js';
import type { TransactionRow } from '../db/schema.js';
import { checkIdempotencyKey, checkText, lookUpUser, type WorkflowDeps } from './context.js';
import { checkFaucetDeposit, faucetDailyTotal } from './faucet.js';
import { resultOf, runTransaction } from './engine.js';

const MEMO_LENGTH_MAX = 200;
const REFERENCE_LENGTH_MAX = 100;

/** Money in from outside: ADMINs for anyone; in development, anyone for themselves through the faucet, within its caps. */
export async function deposit(deps: WorkflowDeps, identity: Identity, input: { userId: string; currency: Currency; amount: string }, idempotencyKey: string): Promise<TransactionRow> {
  checkIdempotencyKey(idempotencyKey);
  const amountMinor = parseAmount(input.amount, input.currency);
  const faucet = identity.role !== 'ADMIN';
  if (faucet) checkFaucetDeposit(deps.faucet, identity, input, amountMinor);
  const dailyTotal = faucet ? faucetDailyTotal(deps.faucet, identity.userId, input.currency) : undefined;
  if (!isUuid(input.userId)) throw badInput('userId is not a user id', { field: 'userId' });
  const recipient = await lookUpUser(deps, { id: input.userId });
  return resultOf(
    await runTransaction(deps, {
      type: 'DEPOSIT',
      initiatorId: identity.userId,
      idempotencyKey,
      toUserId: recipient.id,
      currency: input.currency,
      amount: amountMinor,
      request: { userId: recipient.id, currency: input.currency, amountMinor: String(amountMinor) },
      buildPosting: (id) => ({
        id,
        kind: 'deposit',
        entries: [
          { account: { system: 'external' }, currency: input.currency, amountMinor: String(-amountMinor) },
          { account: { userId: recipient.id }, currency: input.currency, amountMinor: String(amountMinor) },
        ],
      }),
    }, dailyTotal),
  );
}

/** Between two different users, in one currency; the recipient is named by user id or email. */
export async function transfer(deps: WorkflowDeps, identity: Identity, input: { to: string; currency: Currency; amount: string; memo?: string | null }, idempotencyKey: string): Promise<TransactionRow> {
  checkIdempotencyKey(idempotencyKey);
  const amountMinor = parseAmount(input.amount, input.currency);
  const memo = checkText(input.memo, 'memo', MEMO_LENGTH_MAX, false);
  const to = input.to.trim();
  if (to === '' || to.length > 254) throw badInput('to must be a user id or an email', { field: 'to' });
  const recipient = await lookUpUser(deps, isUuid(to) ? { id: to } : { email: to });
  if (recipient.id === identity.userId) throw badInput('You cannot transfer to yourself', { field: 'to' });
  return resultOf(await movement(deps, identity, 'TRANSFER', recipient.id, input.currency, amountMinor, idempotencyKey, { memo }));
}

/** A buyer pays a SELLER, with a reference the seller sees. */
export async function pay(deps: WorkflowDeps, identity: Identity, input: { sellerId: string; currency: Currency; amount: string; reference: string }, idempotencyKey: string): Promise<TransactionRow> {
  checkIdempotencyKey(idempotencyKey);
  const amountMinor = parseAmount(input.amount, input.currency);
  const reference = checkText(input.reference, 'reference', REFERENCE_LENGTH_MAX, true);
  if (!isUuid(input.sellerId)) throw badInput('sellerId is not a user id', { field: 'sellerId' });
  const seller = await lookUpUser(deps, { id: input.sellerId });
  if (seller.role !== 'SELLER') throw badInput('Payments go to sellers only; use a transfer to pay anyone else', { field: 'sellerId' });
  if (seller.id === identity.userId) throw badInput('You cannot pay yourself', { field: 'sellerId' });
  return resultOf(await movement(deps, identity, 'PAYMENT', seller.id, input.currency, amountMinor, idempotencyKey, { reference }));
}

function movement(
  deps: WorkflowDeps,
  identity: Identity,
  type: 'TRANSFER' | 'PAYMENT',
  toUserId: string,
  currency: Currency,
  amountMinor: bigint,
  idempotencyKey: string,
  text: { memo?: string | null; reference?: string | null },
) {
  return runTransaction(deps, {
    type,
    initiatorId: identity.userId,
    idempotencyKey,
    fromUserId: identity.userId,
    toUserId,
    currency,
    amount: amountMinor,
    memo: text.memo ?? null,
    reference: text.reference ?? null,
    request: { toUserId, currency, amountMinor: String(amountMinor), ...text },
    buildPosting: (id) => ({
      id,
      kind: type.toLowerCase(),
      entries: [
        { account: { userId: identity.userId }, currency, amountMinor: String(-amountMinor) },
        { account: { userId: toUserId }, currency, amountMinor: String(amountMinor) },
      ],
    }),
  });
}
