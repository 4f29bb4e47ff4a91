import { and, eq, sql } from 'drizzle-orm';
import { getAddress, isAddress, zeroAddress } from 'viem';
import type { Identity } from '../../../../lib/auth/identity.js';
import { type WithdrawalState, withdrawalCall } from '../../../../lib/chain/withdrawal.js';
import { isReservedAddress, RESERVED_ADDRESS_MESSAGE, withdrawalAddressCheckCall } from '../../../../lib/chain/withdrawal-address.js';
import { AppError, badInput } from '../../../../lib/errors.js';
import type { Event } from '../../../../lib/events/contracts/index.js';
import { enqueueEvents } from '../../../../lib/events/outbox.js';
import { derivedUuid } from '../../../../lib/ids.js';
import { UpstreamUnavailable } from '../../../../lib/internal-client.js';
import type { PostingRequest } from '../../../../lib/ledger/posting.js';
import { parseAmount } from '../../../../lib/money.js';
import { type TransactionRow, transactions } from '../db/schema.js';
import { checkIdempotencyKey, type WorkflowDeps } from './context.js';
import { applyPosting, type EngineDeps, finish, replayOf, resultOf, runTransaction, transactionStatusEvent } from './engine.js';

/** How soon the recovery loop asks again about a withdrawal whose mint is on its way. */
const CHAIN_RECHECK_MS = 2_000;

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
async function checkAddressOnChainSide(deps: WorkflowDeps, toAddress: string): Promise<void> {
  try {
    await deps.blockchain.call(withdrawalAddressCheckCall, { toAddress });
  } catch (error) {
    if (error instanceof AppError && error.code === 'BAD_USER_INPUT') throw badInput(error.message, { field: 'toAddress' });
    throw error;
  }
}

const withdrawalPosting = (id: string, userId: string, amountMinor: bigint): PostingRequest => ({
  id,
  kind: 'withdrawal',
  entries: [
    { account: { userId }, currency: 'CARBON', amountMinor: String(-amountMinor) },
    { account: { system: 'external' }, currency: 'CARBON', amountMinor: String(amountMinor) },
  ],
});

/** The posting that gives a failed withdrawal's CARBON back: the opposite entries, under an id fixed by the withdrawal's. */
const reversalOf = (posting: PostingRequest): PostingRequest => ({
  id: derivedUuid('withdrawal-reversal', posting.id),
  kind: 'withdrawal_reversal',
  entries: posting.entries.map((entry) => ({ ...entry, amountMinor: entry.amountMinor.startsWith('-') ? entry.amountMinor.slice(1) : `-${entry.amountMinor}` })),
});

/**
 * Ledger CARBON out to an address on chain, as one WITHDRAWAL transaction: the posting takes the CARBON off
 * the caller's wallet, then the blockchain subgraph mints it (same id, so neither side happens twice).
 */
export async function withdrawCarbon(deps: WorkflowDeps, identity: Identity, input: { amount: string; toAddress: string }, idempotencyKey: string): Promise<TransactionRow> {
  checkIdempotencyKey(idempotencyKey);
  const amountMinor = parseAmount(input.amount, 'CARBON');
  const toAddress = checkAddress(input.toAddress);
  const request = { amountMinor: String(amountMinor), toAddress };
  // A replay answers as the first time did, whatever the blockchain subgraph says now.
  const replay = await replayOf(deps, identity.userId, idempotencyKey, 'WITHDRAWAL', request);
  if (replay) return resultOf(replay);
  await checkAddressOnChainSide(deps, toAddress);
  return resultOf(
    await runTransaction(deps, {
      type: 'WITHDRAWAL',
      initiatorId: identity.userId,
      idempotencyKey,
      fromUserId: identity.userId,
      currency: 'CARBON',
      amount: amountMinor,
      toAddress,
      request,
      buildPosting: (id) => withdrawalPosting(id, identity.userId, amountMinor),
    }),
  );
}

/**
 * The chain step of a withdrawal whose debit is applied: ask the blockchain subgraph to mint (or where its
 * mint stands). Confirmed: COMPLETED. On its way, or no answer: left PENDING for the recovery loop to ask again.
 * Failed: the CARBON is given back by the reversal posting, then it is FAILED with the chain's reason.
 */
export async function sendWithdrawal(deps: EngineDeps, row: TransactionRow): Promise<TransactionRow> {
  let state: WithdrawalState;
  try {
    state = await deps.blockchain.call(withdrawalCall, { id: row.id, userId: row.fromUserId ?? '', toAddress: row.toAddress ?? '', amountMinor: row.amount });
  } catch (error) {
    if (error instanceof UpstreamUnavailable) {
      deps.log.warn({ transactionId: row.id, err: String(error.cause) }, 'withdrawal outcome unknown; left PENDING');
      return row;
    }
    if (!(error instanceof AppError)) throw error;
    // A refusal: nothing was sent.
    state = { status: 'FAILED', chainTransactionId: null, hash: null, failureCode: 'CHAIN_TRANSACTION_FAILED', failureMessage: error.message };
  }
  if (state.chainTransactionId && (state.chainTransactionId !== row.chainTransactionId || state.hash !== (row.details?.txHash ?? null))) {
    row = await recordMint(deps, row, state);
  }
  if (state.status === 'CONFIRMED') return finish(deps, row, { kind: 'applied' });
  if (state.status === 'PENDING') {
    await deps.db
      .update(transactions)
      .set({ nextAttemptAt: sql`now() + make_interval(secs => ${CHAIN_RECHECK_MS / 1000})` })
      .where(eq(transactions.id, row.id));
    return row;
  }
  const reversal = await applyPosting(deps, reversalOf(row.posting));
  if (reversal.kind !== 'applied') {
    deps.log.error({ transactionId: row.id, reversal }, 'could not give a failed withdrawal its CARBON back yet; left PENDING');
    return row;
  }
  const code = state.failureCode ?? 'CHAIN_TRANSACTION_FAILED';
  return finish(deps, row, { kind: 'refused', error: new AppError(code, state.failureMessage ?? 'The chain transaction failed; your CARBON was given back') });
}

/**
 * Stores the mint the blockchain subgraph sent for a withdrawal. A mint still on its way changes what the
 * withdrawal's parties see (its chain transaction), so `transaction.status` tells them, in the same SQL
 * transaction; a mint already settled is told by the COMPLETED or FAILED event that follows at once.
 */
async function recordMint(deps: EngineDeps, row: TransactionRow, state: WithdrawalState): Promise<TransactionRow> {
  return deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(transactions)
      .set({ chainTransactionId: state.chainTransactionId, details: { ...row.details, txHash: state.hash } })
      .where(and(eq(transactions.id, row.id), eq(transactions.status, 'PENDING')))
      .returning();
    if (!updated) return row;
    if (state.status === 'PENDING') await enqueueEvents(tx, [transactionStatusEvent(updated)]);
    return updated;
  });
}

/**
 * From `blockchain.event`: MCO2 that reached a user's custodial address and was burned there is credited to
 * their CARBON wallet as a DEPOSIT. The deposit id is the idempotency key, so a redelivered event finds the
 * transaction it made the first time. (A deposit event whose data breaks its contract never gets here: the
 * consumer logs, counts and skips it.)
 */
export async function creditChainDeposit(deps: WorkflowDeps, event: Event<'blockchain.event'>): Promise<void> {
  if (event.data.kind !== 'CARBON_DEPOSIT') return;
  const { depositId, userId, amountMinor, txHash } = event.data;
  const amount = BigInt(amountMinor);
  await runTransaction(deps, {
    type: 'DEPOSIT',
    initiatorId: userId,
    idempotencyKey: `chain-deposit:${depositId}`,
    toUserId: userId,
    currency: 'CARBON',
    amount,
    memo: `MCO2 received on chain (${txHash})`,
    details: { chainDeposit: { depositId, txHash } },
    request: { depositId, amountMinor },
    buildPosting: (id) => ({
      id,
      kind: 'chain_deposit',
      entries: [
        { account: { system: 'external' }, currency: 'CARBON', amountMinor: String(-amount) },
        { account: { userId }, currency: 'CARBON', amountMinor: String(amount) },
      ],
    }),
  });
}
