import { eq } from 'drizzle-orm';
import { type Address, encodeFunctionData, zeroAddress } from 'viem';
import { carbonTokenAbi } from '../../../../contracts/artifacts/index.js';
import { type WithdrawalRequest, type WithdrawalState, withdrawalCall } from '../../../../lib/chain/withdrawal.js';
import { isReservedAddress, RESERVED_ADDRESS_MESSAGE, withdrawalAddressCheckCall } from '../../../../lib/chain/withdrawal-address.js';
import { contractRoute } from '../../../../lib/internal-contract.js';
import { AppError, badInput, forbidden } from '../../../../lib/errors.js';
import type { InternalRoute } from '../../../../lib/server/subgraph-server.js';
import { type ChainTransactionRow, withdrawals } from '../db/schema.js';
import type { BlockchainServiceDeps } from '../deps.js';
import { failureOf, isFailed, latestSentFor, settledSoon } from './records.js';
import { parseAddressInput } from './wallet-link.js';

function stateOf(sent: ChainTransactionRow): WithdrawalState {
  const base = { chainTransactionId: sent.id, hash: sent.hash };
  if (isFailed(sent)) return { ...base, status: 'FAILED', failureCode: 'CHAIN_TRANSACTION_FAILED', failureMessage: `The mint on chain failed: ${failureOf(sent)}` };
  return { ...base, status: sent.status === 'CONFIRMED' ? 'CONFIRMED' : 'PENDING', failureCode: null, failureMessage: null };
}

const refusedBeforeSending = (message: string | null): WithdrawalState => ({
  status: 'FAILED',
  chainTransactionId: null,
  hash: null,
  failureCode: 'UPSTREAM_UNAVAILABLE',
  failureMessage: message,
});

export function checkWithdrawalAddress(deps: BlockchainServiceDeps, value: string): Address {
  const address = parseAddressInput(value, 'toAddress');
  if (address === zeroAddress) throw badInput('toAddress must not be the zero address: the MCO2 would be lost', { field: 'toAddress' });
  if (isReservedAddress(address)) throw badInput(RESERVED_ADDRESS_MESSAGE, { field: 'toAddress' });
  if (Object.values(deps.chain.contracts).includes(address)) throw badInput('toAddress is one of the platform contracts, which cannot send MCO2 on', { field: 'toAddress' });
  return address;
}

/**
 * Mints a withdrawal's MCO2 to its address with the operator key (the ledger CARBON left the platform in the
 * transaction subgraph's posting with the same id). Safe to ask again: the mint carries the withdrawal id,
 * and a row lock lets only one request send it. If the node cannot be reached before anything is signed, the
 * withdrawal is FAILED with UPSTREAM_UNAVAILABLE and nothing is recorded as sent.
 */
export async function withdraw(deps: BlockchainServiceDeps, request: WithdrawalRequest): Promise<WithdrawalState> {
  const toAddress = checkWithdrawalAddress(deps, request.toAddress);
  const decided = await deps.db.transaction(async (tx): Promise<{ state: WithdrawalState } | { sent: ChainTransactionRow }> => {
    await tx.insert(withdrawals).values({ id: request.id, userId: request.userId, toAddress, amount: request.amountMinor }).onConflictDoNothing();
    const [withdrawal] = await tx.select().from(withdrawals).where(eq(withdrawals.id, request.id)).for('update');
    if (!withdrawal) throw new Error('withdrawal row vanished');
    if (withdrawal.userId !== request.userId || withdrawal.toAddress !== toAddress || withdrawal.amount !== request.amountMinor) {
      throw badInput('This withdrawal id was already used for a different withdrawal');
    }
    // Asked before: the mint already sent (followed below like a new one), or the refusal before sending.
    const earlier = await latestSentFor(deps.db, withdrawal.id, 'WITHDRAWAL');
    if (earlier) return { sent: earlier };
    if (withdrawal.failureCode) return { state: refusedBeforeSending(withdrawal.failureMessage) };
    const data = encodeFunctionData({ abi: carbonTokenAbi, functionName: 'mint', args: [toAddress, BigInt(request.amountMinor)] });
    try {
      const sent = await deps.sender.send({ signer: deps.chain.operator, kind: 'WITHDRAWAL', userId: request.userId, reference: request.id, to: deps.chain.contracts.token, data });
      return { sent };
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'UPSTREAM_UNAVAILABLE') throw error;
      // Signed and maybe broadcast before the node stopped answering: the tracker settles it.
      const sent = await latestSentFor(deps.db, request.id, 'WITHDRAWAL');
      if (sent) return { sent };
      await tx.update(withdrawals).set({ failureCode: 'UPSTREAM_UNAVAILABLE', failureMessage: error.message }).where(eq(withdrawals.id, request.id));
      return { state: refusedBeforeSending(error.message) };
    }
  });
  if ('state' in decided) return decided.state;
  return stateOf(await settledSoon(deps.chain, deps.tracker, decided.sent));
}


/** `POST /internal/withdrawals`, for the transaction subgraph only. */
export const withdrawalRoute = (deps: BlockchainServiceDeps): InternalRoute =>
  contractRoute(withdrawalCall, {
    authorize: (caller) => {
      if (caller.kind !== 'service' || caller.service !== 'transaction') throw forbidden('Withdrawals are sent by the transaction subgraph only');
    },
    handle: async ({ body }) => ({ status: 200, body: await withdraw(deps, body) }),
  });

/** `POST /internal/withdrawals/address-check`: the transaction subgraph asks before it debits a withdrawal. */
export const withdrawalAddressCheckRoute = (deps: BlockchainServiceDeps): InternalRoute =>
  contractRoute(withdrawalAddressCheckCall, {
    authorize: (caller) => {
      if (caller.kind !== 'service' || caller.service !== 'transaction') throw forbidden('Withdrawal addresses are checked for the transaction subgraph only');
    },
    handle: async ({ body }) => ({ status: 200, body: { toAddress: checkWithdrawalAddress(deps, body.toAddress) } }),
  });
