import { and, eq, gte, notInArray } from 'drizzle-orm';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import { type Address, BaseError, type Hex, keccak256, RpcRequestError } from 'viem';
import type { HDAccount } from 'viem/accounts';
import { withSessionLock } from '../../../../lib/db.js';
import { AppError } from '../../../../lib/errors.js';
import * as schema from '../db/schema.js';
import { type ChainTransactionKind, type ChainTransactionRow, chainTransactions } from '../db/schema.js';
import type { Chain } from './clients.js';
import { revertReasonOf } from './errors.js';
import { endIfLost } from './records.js';

/** Sends waiting behind one signer; more is refused rather than queued without end. */
const SIGNER_QUEUE_LENGTH_MAX = 100;
const REASON_LENGTH_MAX = 500;
/**
 * Recorded transactions past the node's pending count looked at per send; beyond them a nonce still held is
 * refused by the nonce index rather than given out twice.
 */
const NONCES_AHEAD_MAX = 1_000;
/** Signings again with a wei more of tip to get a hash no recorded transaction has; then the hash's index refuses. */
const RESIGN_COUNT_MAX = 10n;
const BUSY_MESSAGE = 'Too many transactions are waiting for this account; try again shortly';
/**
 * The unique index that fences nonces (db/schema.ts), and the hash's: the same call with the same nonce signs to
 * the same hash, so a clash of two identical sends meets that one first.
 */
const NONCE_FENCES = ['chain_transactions_signer_nonce_idx', 'chain_transactions_hash_unique'];

/** The advisory lock every instance takes around a send from this signer. */
export const signerLockKey = (signer: Address) => `chain-signer:${signer}`;

export interface SendRequest {
  signer: HDAccount;
  kind: ChainTransactionKind;
  userId: string | null;
  /** The platform record this transaction is for (a withdrawal, retirement or deposit id). */
  reference?: string;
  to: Address;
  data?: Hex;
  value?: bigint;
  /** Skips the estimate (tests use it to get a transaction that reverts on chain). */
  gas?: bigint;
  /** Gas added to the estimate for work the estimate cannot see (state that depends on the block's time). */
  gasExtra?: bigint;
}

/**
 * Signs and broadcasts transactions, one at a time per signer across every instance on the database, so
 * concurrent sends never take the same nonce. Within an instance sends wait in a queue per signer; each send
 * then holds the signer's session advisory lock (`signerLockKey`) on a connection reserved for it, from the
 * estimate until the broadcast has answered. The nonce comes from the node's pending count, which under the lock
 * includes every transaction broadcast before by any instance (or by another tool), skipping the nonces of
 * recorded transactions the node does not count yet (`freeNonce`). A recorded transaction that never reached the
 * node (a crash between record and broadcast, a broadcast without an answer) would leave a gap every later
 * transaction waits behind: once the node has not known it for LOST_AFTER_MS it is ended FAILED, which its
 * workflow takes as any failed transaction (a withdrawal gives its CARBON back), and its nonce is reused. Each
 * transaction is recorded SUBMITTED with its hash, and committed, before it is broadcast; the unique index on
 * (signer, nonce) refuses the record, and so the broadcast, if another send recorded that nonce first (the lock
 * was lost with its connection). A revert found by the estimate is recorded FAILED with its reason, and nothing
 * is signed.
 */
export class Sender {
  readonly #tails = new Map<Address, Promise<unknown>>();
  readonly #queued = new Map<Address, number>();

  constructor(
    private readonly chain: Chain,
    private readonly sql: postgres.Sql,
  ) {}

  send(request: SendRequest): Promise<ChainTransactionRow> {
    const signer = request.signer.address;
    const queued = this.#queued.get(signer) ?? 0;
    if (queued >= SIGNER_QUEUE_LENGTH_MAX) throw new AppError('RATE_LIMITED', BUSY_MESSAGE);
    this.#queued.set(signer, queued + 1);
    const previous = this.#tails.get(signer) ?? Promise.resolve();
    const result = previous
      .catch(() => {})
      .then(() => withSessionLock(this.sql, signerLockKey(signer), BUSY_MESSAGE, (connection) => this.#sendNow(request, this.#onConnection(connection))));
    const tail = result.finally(() => {
      const left = (this.#queued.get(signer) ?? 1) - 1;
      if (left === 0) {
        this.#queued.delete(signer);
        if (this.#tails.get(signer) === tail) this.#tails.delete(signer);
      } else this.#queued.set(signer, left);
    });
    this.#tails.set(signer, tail.catch(() => {}));
    return result;
  }

  /**
   * drizzle over the lock's connection. postgres.js leaves a reserved connection without `options`, where drizzle
   * registers its type parsers; they are the pool's, which the connection parses with.
   */
  #onConnection(connection: postgres.ReservedSql): SignerDatabase {
    return drizzle(Object.assign(connection, { options: this.sql.options }), { schema });
  }

  /** Holding the signer's lock; `db` is the lock's own connection, so a send needs no other. */
  async #sendNow(request: SendRequest, db: SignerDatabase): Promise<ChainTransactionRow> {
    const { chain } = this;
    const { signer } = request;
    const chainId = await chain.chainId();
    const call = { account: signer.address, to: request.to, data: request.data, value: request.value };
    let gas = request.gas;
    if (gas === undefined) {
      try {
        // The transport adds the headroom to the node's estimate.
        // Against the pending state, so the signer's sent but unmined transactions count.
        gas = (await chain.publicClient.estimateGas({ ...call, blockTag: 'pending' })) + (request.gasExtra ?? 0n);
      } catch (error) {
        const reason = revertReasonOf(error);
        if (reason === undefined) return chain.call('eth_estimateGas', () => Promise.reject(error));
        return record(db, request, { status: 'FAILED', revertReason: reason });
      }
    }
    const fees = await chain.call('fees', () => chain.publicClient.estimateFeesPerGas());
    const pendingCount = await chain.call('eth_getTransactionCount', () => chain.publicClient.getTransactionCount({ address: signer.address, blockTag: 'pending' }));
    const nonce = await freeNonce(chain, db, signer.address, pendingCount);
    // A transaction that never happened (the node refused it, or it never reached the node) may have had this very
    // call, nonce and fees, and so the hash its record keeps: a wei more of tip makes this one another.
    let tip = 0n;
    let serialized: Hex;
    do {
      serialized = await signer.signTransaction({
        type: 'eip1559',
        chainId,
        nonce,
        gas,
        maxFeePerGas: fees.maxFeePerGas + tip,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas + tip,
        to: request.to,
        data: request.data,
        value: request.value,
      });
      tip += 1n;
    } while (tip <= RESIGN_COUNT_MAX && (await isFailedHash(db, keccak256(serialized))));
    const row = await record(db, request, { status: 'SUBMITTED', nonce, hash: keccak256(serialized) }).catch((error: unknown) => {
      if (!NONCE_FENCES.some((constraint) => violates(error, constraint))) throw error;
      throw new AppError('UPSTREAM_UNAVAILABLE', `Another send took nonce ${nonce} of ${signer.address} first; nothing was sent, try again`);
    });
    try {
      await chain.publicClient.sendRawTransaction({ serializedTransaction: serialized });
    } catch (error) {
      // The node answered with a refusal: the nonce is free again and the transaction never existed.
      if (error instanceof BaseError && error.walk((cause) => cause instanceof RpcRequestError)) {
        const reason = (revertReasonOf(error) ?? error.shortMessage).slice(0, REASON_LENGTH_MAX);
        const [failed] = await db
          .update(chainTransactions)
          .set({ status: 'FAILED', revertReason: `refused by the node: ${reason}`, updatedAt: new Date() })
          .where(eq(chainTransactions.id, row.id))
          .returning();
        return failed as ChainTransactionRow;
      }
      // No answer: it may have been broadcast, so it stays SUBMITTED and the tracker settles it.
      return chain.call('eth_sendRawTransaction', () => Promise.reject(error));
    }
    return row;
  }
}

type SignerDatabase = PostgresJsDatabase<typeof schema>;

/**
 * The lowest nonce from the node's pending count up that no recorded transaction holds. Under the signer's lock
 * the pending count includes every transaction broadcast before (the lock's previous holder broadcast before it
 * let go), so a recorded transaction at or past it is one the node does not count: lost (never broadcast, or
 * dropped), or one the node holds behind a gap, or one another node behind a balancer has and this one has not
 * seen yet. A lost one (`endIfLost`: unknown to the node and older than LOST_AFTER_MS) is ended FAILED and its
 * nonce reused, so a gap it left is filled and the transactions queued behind it are mined; any other keeps its
 * nonce, which is never given out again while it may be on chain.
 */
async function freeNonce(chain: Chain, db: SignerDatabase, signer: Address, pendingCount: number): Promise<number> {
  const recorded = await db
    .select()
    .from(chainTransactions)
    .where(and(eq(chainTransactions.signer, signer), gte(chainTransactions.nonce, pendingCount), notInArray(chainTransactions.status, ['FAILED', 'REPLACED'])))
    .orderBy(chainTransactions.nonce)
    .limit(NONCES_AHEAD_MAX);
  const held = new Set<number>();
  for (const row of recorded) {
    const nonce = row.nonce as number;
    if (!(await endIfLost(chain, db, row))) held.add(nonce);
  }
  if (held.size > 0) chain.log.warn({ signer, pendingCount, held: [...held] }, 'the node does not count every transaction recorded for this signer; their nonces are skipped');
  let nonce = pendingCount;
  while (held.has(nonce)) nonce += 1;
  return nonce;
}

/** Whether a transaction that never happened was recorded with this hash. */
async function isFailedHash(db: SignerDatabase, hash: Hex): Promise<boolean> {
  const rows = await db
    .select({ id: chainTransactions.id })
    .from(chainTransactions)
    .where(and(eq(chainTransactions.hash, hash), eq(chainTransactions.status, 'FAILED')));
  return rows.length > 0;
}

/** Committed at once (the lock's connection is outside any transaction), before anything is broadcast. */
async function record(db: SignerDatabase, request: SendRequest, fields: Partial<ChainTransactionRow> & Pick<ChainTransactionRow, 'status'>): Promise<ChainTransactionRow> {
  const [row] = await db
    .insert(chainTransactions)
    .values({ kind: request.kind, userId: request.userId, reference: request.reference ?? null, signer: request.signer.address, ...fields })
    .returning();
  return row as ChainTransactionRow;
}

/** drizzle wraps the driver's error in its own, with the driver's as the cause. */
const violates = (error: unknown, constraint: string): boolean => {
  const cause = ((error as { cause?: unknown }).cause ?? error) as { code?: string; constraint_name?: string };
  return cause.code === '23505' && cause.constraint_name === constraint;
};
