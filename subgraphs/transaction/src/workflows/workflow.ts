import type { AppError } from '../../../../lib/errors.js';
import type { Event, EventData } from '../../../../lib/events/contracts/index.js';
import type { PostingRequest } from '../../../../lib/ledger/posting.js';
import type { SqlTransaction } from '../db/database.js';
import type { TransactionRow, transactions } from '../db/schema.js';
import type { TransactionDeps } from '../deps.js';
import type { MutationResolvers } from '../generated/resolvers-types.js';

/**
 * One workflow, whole: how it starts (its mutations, or the events it consumes), the posting it asks the user
 * subgraph to apply, what follows once that posting is applied, and what its `transaction.status` event says.
 * The engine runs any of them and knows none; `registry.ts` lists them. How to add one: README, "Architecture".
 */
export interface Workflow {
  /** The kind of posting it writes, unique per workflow: how a stored transaction finds its workflow again. */
  kind: string;
  type: TransactionRow['type'];
  /** The entries of its posting (summing to zero per currency), from the transaction as recorded. */
  entries(transaction: NewTransaction): PostingEntries;
  /** The mutations that start it; each checks the caller's input before anything is stored. */
  mutations?(deps: TransactionDeps): MutationResolvers;
  /** Events that start it, read by a durable consumer of that name. */
  consumer?: WorkflowConsumer;
  /** True when a stored PENDING transaction's posting is known to be applied: only what follows it is still wanted. */
  postingApplied?(row: TransactionRow): boolean;
  /** What follows the applied posting and decides the outcome (a withdrawal's mint); without it the outcome is COMPLETED. */
  afterPosting?(deps: TransactionDeps, row: TransactionRow): Promise<Outcome>;
  /** What completing records beside the status, in the same SQL transaction (a retirement's row). */
  onCompleted?(tx: SqlTransaction, row: TransactionRow): Promise<void>;
  /** Its type, and what readers of its `transaction.status` event need beside the common fields. */
  eventData(row: TransactionRow): StatusDetail;
}

export interface WorkflowConsumer {
  /** Names the consumer in `processed_events` (after the service's prefix): never rename a running one. */
  name: string;
  topics: readonly Event['type'][];
  apply(deps: TransactionDeps, event: Event): Promise<void>;
}

/** A workflow's request, checked and priced, ready to be recorded PENDING and applied. */
export type NewTransaction = Omit<typeof transactions.$inferInsert, 'id' | 'type' | 'status' | 'requestHash' | 'posting' | 'amount'> & {
  amount: bigint;
  /** Everything that makes two requests "the same", for IDEMPOTENCY_KEY_REUSED. */
  request: Record<string, unknown>;
};

export type PostingEntries = PostingRequest['entries'];

/** How a transaction stands after its posting step: it decides COMPLETED, FAILED, or PENDING until the next attempt. */
export type Outcome =
  | { kind: 'applied' }
  | { kind: 'refused'; error: AppError }
  /** No outcome yet: the transaction stays PENDING, tried again after `waitMs` (if the workflow knows better than back-off). */
  | { kind: 'waiting'; row: TransactionRow; waitMs?: number };

type TransactionStatusData = EventData<'transaction.status'>;
/** The fields of every `transaction.status` event, filled by the engine. */
export type StatusCommon = Omit<Pick<TransactionStatusData, keyof TransactionStatusData>, 'type'>;
/** What a workflow adds to the common fields. */
export type StatusDetail = TransactionStatusData extends infer Data ? (Data extends unknown ? Omit<Data, keyof StatusCommon> : never) : never;

/** A column the workflow always fills; missing, it is a bug. */
export function present<T>(value: T | null | undefined, field: string): T {
  if (value === null || value === undefined) throw new Error(`a transaction was recorded without ${field}`);
  return value;
}
