import { signedIn } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { badInput } from '../../../../lib/errors.js';
import { parseAmount } from '../../../../lib/money.js';
import { retirements, type TransactionRow } from '../db/schema.js';
import type { TransactionDeps } from '../deps.js';
import { resultOf, runTransaction } from './engine.js';
import { checkIdempotencyKey, checkText } from './input-checks.js';
import { present, type Workflow } from './workflow.js';

/** What CarbonToken.retire stores on the certificate, in bytes of UTF-8 (BENEFICIARY_BYTES_MAX, MESSAGE_BYTES_MAX). */
const BENEFICIARY_BYTES_MAX = 128;
const RETIREMENT_MESSAGE_BYTES_MAX = 512;

/**
 * CARBON out of circulation for good, to the `retired` account, with a certificate's beneficiary and message.
 * Completing it records the retirement, which the blockchain subgraph certifies on chain from the event.
 */
export const retirementWorkflow: Workflow = {
  kind: 'retirement',
  type: 'RETIREMENT',
  entries: (retirement) => [
    { account: { userId: present(retirement.fromUserId, 'fromUserId') }, currency: 'CARBON', amountMinor: String(-retirement.amount) },
    { account: { system: 'retired' }, currency: 'CARBON', amountMinor: String(retirement.amount) },
  ],
  mutations: (deps) => ({
    retireCarbonCredits: (_parent, { input, idempotencyKey }, { identity }) => retireCarbonCredits(deps, signedIn(identity), input, idempotencyKey),
  }),
  async onCompleted(tx, row) {
    await tx.insert(retirements).values({
      id: row.id,
      userId: present(row.fromUserId, 'fromUserId'),
      amount: row.amount,
      beneficiary: row.details?.beneficiary ?? '',
      message: row.details?.message ?? null,
      retiredAt: row.completedAt ?? new Date(),
    });
  },
  // What the blockchain subgraph writes on the certificate on chain.
  eventData: (row) => ({ type: 'RETIREMENT', retirement: { beneficiary: row.details?.beneficiary ?? '', message: row.details?.message ?? null } }),
};

function checkCertificateText(value: string | null, field: string, bytesMax: number): void {
  if (value !== null && Buffer.byteLength(value, 'utf8') > bytesMax) {
    throw badInput(`${field} must be at most ${bytesMax} bytes of UTF-8: the certificate on chain holds no more`, { field });
  }
}

export async function retireCarbonCredits(
  deps: TransactionDeps,
  identity: Identity,
  input: { amount: string; beneficiary: string; message?: string | null },
  idempotencyKey: string,
): Promise<TransactionRow> {
  checkIdempotencyKey(idempotencyKey);
  const amountMinor = parseAmount(input.amount, 'CARBON');
  const beneficiary = checkText(input.beneficiary, 'beneficiary', BENEFICIARY_BYTES_MAX, true) as string;
  const message = checkText(input.message, 'message', RETIREMENT_MESSAGE_BYTES_MAX, false);
  checkCertificateText(beneficiary, 'beneficiary', BENEFICIARY_BYTES_MAX);
  checkCertificateText(message, 'message', RETIREMENT_MESSAGE_BYTES_MAX);
  const transaction = {
    initiatorId: identity.userId,
    idempotencyKey,
    fromUserId: identity.userId,
    currency: 'CARBON' as const,
    amount: amountMinor,
    details: { beneficiary, message },
    request: { amountMinor: String(amountMinor), beneficiary, message },
  };
  return resultOf(await runTransaction(deps, retirementWorkflow, transaction));
}
