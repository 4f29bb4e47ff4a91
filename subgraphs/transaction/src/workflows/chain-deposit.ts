import type { Event } from '../../../../lib/events/contracts/index.js';
import type { TransactionDeps } from '../deps.js';
import { runTransaction } from './engine.js';
import { present, type Workflow } from './workflow.js';

/**
 * MCO2 that reached a user's custodial address and was burned there, credited to their CARBON wallet as a
 * DEPOSIT. It starts from the blockchain subgraph's CARBON_DEPOSIT event, not from a mutation.
 */
export const chainDepositWorkflow: Workflow = {
  kind: 'chain_deposit',
  type: 'DEPOSIT',
  entries: (deposit) => [
    { account: { system: 'external' }, currency: 'CARBON', amountMinor: String(-deposit.amount) },
    { account: { userId: present(deposit.toUserId, 'toUserId') }, currency: 'CARBON', amountMinor: String(deposit.amount) },
  ],
  consumer: { name: 'chain-deposits', topics: ['blockchain.event'], apply: creditChainDeposit },
  eventData: (row) => ({ type: 'DEPOSIT', chainDeposit: present(row.details?.chainDeposit, 'details.chainDeposit') }),
};

/**
 * The deposit id is the idempotency key, so a redelivered event finds the transaction it made the first time.
 * (A deposit event whose data breaks its contract never gets here: the consumer logs, counts and skips it.)
 */
export async function creditChainDeposit(deps: TransactionDeps, event: Event): Promise<void> {
  if (event.type !== 'blockchain.event' || event.data.kind !== 'CARBON_DEPOSIT') return;
  const { depositId, userId, amountMinor, txHash } = event.data;
  await runTransaction(deps, chainDepositWorkflow, {
    initiatorId: userId,
    idempotencyKey: `chain-deposit:${depositId}`,
    toUserId: userId,
    currency: 'CARBON',
    amount: BigInt(amountMinor),
    memo: `MCO2 received on chain (${txHash})`,
    details: { chainDeposit: { depositId, txHash } },
    request: { depositId, amountMinor },
  });
}
