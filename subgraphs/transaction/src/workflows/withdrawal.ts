import { and, eq } from 'drizzle-orm';
import { getAddress, isAddress, zeroAddress } from 'viem';
import { signedIn } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { type WithdrawalState, withdrawalCall } from '../../../../lib/chain/withdrawal.js';
import { isReservedAddress, RESERVED_ADDRESS_MESSAGE, withdrawalAddressCheckCall } from '../../../../lib/chain/withdrawal-address.js';
import { AppError, badInput } from '../../../../lib/errors.js';
import { derivedUuid } from '../../../../lib/ids.js';
import { UpstreamUnavailable } from '../../../../lib/internal-client.js';
import type { PostingRequest } from '../../../../lib/ledger/posting.js';
import { parseAmount } from '../../../../lib/money.js';
import { type TransactionRow, transactions } from '../db/schema.js';
import type { TransactionDeps } from '../deps.js';
import { applyPosting, recordStatusChange, replayOf, resultOf, runTransaction } from './engine.js';
import { checkIdempotencyKey } from './input-checks.js';
import { type Outcome, present, type Workflow } from './workflow.js';

/** How soon the recovery loop asks again about a withdrawal whose mint is on its way. */
const CHAIN_RECHECK_MS = 2_000;

/**
 * Ledger CARBON out to an address on chain: the posting takes the CARBON off the caller's wallet, then the
 * blockchain subgraph mints it (same id, so neither side happens twice) and its answer decides the outcome.
 */
export const withdrawalWorkflow: Workflow = {
  kind: 'withdrawal',
  type: 'WITHDRAWAL',
  entries: (withdrawal) => [
    { account: { userId: present(withdrawal.fromUserId, 'fromUserId') }, currency: 'CARBON', amountMinor: String(-withdrawal.amount) },
    { account: { system: 'external' }, currency: 'CARBON', amountMinor: String(withdrawal.amount) },
  ],
  mutations: (deps) => ({
    withdrawCarbon: (_parent, { input, idempotencyKey }, { identity }) => withdrawCarbon(deps, signedIn(identity), input, idempotencyKey),
  }),
  // A withdrawal whose mint was sent had its debit applied before: only the chain's answer is still wanted.
  postingApplied: (row) => row.chainTransactionId !== null,
  afterPosting: sendWithdrawal,
  eventData: (row) => ({ type: 'WITHDRAWAL', toAddress: present(row.toAddress, 'toAddress'), chainTransactionId: row.chainTransactionId, txHash: row.details?.txHash ?? null }),
};

/** A 0x address with a valid EIP-55 checksum when mixed case, never the zero address. */
function checkAddress(value: string): string {
  const trimmed = value.trim();
  if (!isAddress(trimmed, { strict: true })) throw badInput('toAddress must be a 0x address of 40 hex digits with a valid EIP-55 checksum', { field: 'toAddress' });
  const address = getAddress(trimmed);
  if (address === zeroAddress) throw badInput('toAddress must not be the zero address: the MCO2 would be lost', { field: 'toAddress' });
  if (isReservedAddress(address)) throw badInput(RESERVED_ADDRESS_MESSAGE, { field: 'toAddress' });
  return address;
}

/**
 * The blockchain subgraph's word on the address before anything is debited: it alone knows the platform's own
 * contracts, which would keep the MCO2. No answer is UPSTREAM_UNAVAILABLE and nothing is debited; a withdrawal
 * could not be sent without that service anyway.
 */
async function checkAddressOnChainSide(deps: TransactionDeps, toAddress: string): Promise<void> {
  try {
    await deps.blockchain.call(withdrawalAddressCheckCall, { toAddress });
  } catch (error) {
    if (error instanceof AppError && error.code === 'BAD_USER_INPUT') throw badInput(error.message, { field: 'toAddress' });
    throw error;
  }
}

/** The posting that gives a failed withdrawal's CARBON back: the opposite entries, under an id fixed by the withdrawal's. */
const reversalOf = (posting: PostingRequest): PostingRequest => ({
  id: derivedUuid('withdrawal-reversal', posting.id),
  kind: 'withdrawal_reversal',
  entries: posting.entries.map((entry) => ({ ...entry, amountMinor: entry.amountMinor.startsWith('-') ? entry.amountMinor.slice(1) : `-${entry.amountMinor}` })),
});

export async function withdrawCarbon(deps: TransactionDeps, identity: Identity, input: { amount: string; toAddress: string }, idempotencyKey: string): Promise<TransactionRow> {
  checkIdempotencyKey(idempotencyKey);
  const amountMinor = parseAmount(input.amount, 'CARBON');
  const toAddress = checkAddress(input.toAddress);
  const request = { amountMinor: String(amountMinor), toAddress };
  // A replay answers as the first time did, whatever the blockchain subgraph says now.
  const replay = await replayOf(deps, withdrawalWorkflow, identity.userId, idempotencyKey, request);
  if (replay) return resultOf(replay);
  await checkAddressOnChainSide(deps, toAddress);
  const transaction = { initiatorId: identity.userId, idempotencyKey, fromUserId: identity.userId, currency: 'CARBON' as const, amount: amountMinor, toAddress, request };
  return resultOf(await runTransaction(deps, withdrawalWorkflow, transaction));
}

/**
 * The chain step of a withdrawal whose debit is applied: ask the blockchain subgraph to mint (or where its
 * mint stands). Confirmed: COMPLETED. On its way: asked again after CHAIN_RECHECK_MS; no answer: left to
 * recovery. Failed: the CARBON is given back by the reversal posting, then it is FAILED with the chain's reason.
 */
async function sendWithdrawal(deps: TransactionDeps, row: TransactionRow): Promise<Outcome> {
  let state: WithdrawalState;
  try {
    state = await deps.blockchain.call(withdrawalCall, { id: row.id, userId: row.fromUserId ?? '', toAddress: row.toAddress ?? '', amountMinor: row.amount });
  } catch (error) {
    if (error instanceof UpstreamUnavailable) {
      deps.log.warn({ transactionId: row.id, err: String(error.cause) }, 'withdrawal outcome unknown; left PENDING');
      return { kind: 'waiting', row };
    }
    if (!(error instanceof AppError)) throw error;
    // A refusal: nothing was sent.
    state = { status: 'FAILED', chainTransactionId: null, hash: null, failureCode: 'CHAIN_TRANSACTION_FAILED', failureMessage: error.message };
  }
  if (state.chainTransactionId && (state.chainTransactionId !== row.chainTransactionId || state.hash !== (row.details?.txHash ?? null))) {
    row = await recordMint(deps, row, state);
  }
  if (state.status === 'CONFIRMED') return { kind: 'applied' };
  if (state.status === 'PENDING') return { kind: 'waiting', row, waitMs: CHAIN_RECHECK_MS };
  const reversal = await applyPosting(deps, reversalOf(row.posting));
  if (reversal.kind !== 'applied') {
    deps.log.error({ transactionId: row.id, reversal }, 'could not give a failed withdrawal its CARBON back yet; left PENDING');
    return { kind: 'waiting', row };
  }
  const code = state.failureCode ?? 'CHAIN_TRANSACTION_FAILED';
  return { kind: 'refused', error: new AppError(code, state.failureMessage ?? 'The chain transaction failed; your CARBON was given back') };
}

/**
 * Stores the mint the blockchain subgraph sent for a withdrawal. A mint still on its way changes what the
 * withdrawal's parties see (its chain transaction), so `transaction.status` tells them, in the same SQL
 * transaction; a mint already settled is told by the COMPLETED or FAILED event that follows at once.
 */
async function recordMint(deps: TransactionDeps, row: TransactionRow, state: WithdrawalState): Promise<TransactionRow> {
  return deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(transactions)
      .set({ chainTransactionId: state.chainTransactionId, details: { ...row.details, txHash: state.hash } })
      .where(and(eq(transactions.id, row.id), eq(transactions.status, 'PENDING')))
      .returning();
    if (!updated) return row;
    if (state.status === 'PENDING') await recordStatusChange(tx, withdrawalWorkflow, updated);
    return updated;
  });
}
