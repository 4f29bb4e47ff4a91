import { eq, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { type Address, BaseError, type Hex, keccak256, RpcRequestError } from 'viem';
import type { HDAccount } from 'viem/accounts';
import { AppError } from '../../../../lib/errors.js';
import type * as schema from '../db/schema.js';
import { type ChainTransactionKind, type ChainTransactionRow, chainTransactions } from '../db/schema.js';
import type { Chain } from './clients.js';
import { revertReasonOf } from './errors.js';

/** Sends waiting behind one signer; more is refused rather than queued without end. */
const SIGNER_QUEUE_LENGTH_MAX = 100;
const REASON_LENGTH_MAX = 500;

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
 * Signs and broadcasts transactions, one at a time per signer (in every instance of the service together), so
 * concurrent sends never take the same nonce.
 * The nonce is the larger of the last one used here plus one and the node's pending count, so a transaction
 * sent by another tool is not overwritten. Each transaction is recorded SUBMITTED with its hash before it is
 * broadcast; a revert found by the estimate is recorded FAILED with its reason, and nothing is signed.
 */
export class Sender {
  readonly #tails = new Map<Address, Promise<unknown>>();
  readonly #queued = new Map<Address, number>();
  readonly #nextNonce = new Map<Address, number>();

  constructor(
    private readonly chain: Chain,
    private readonly db: PostgresJsDatabase<typeof schema>,
  ) {}

  send(request: SendRequest): Promise<ChainTransactionRow> {
    const signer = request.signer.address;
    const queued = this.#queued.get(signer) ?? 0;
    if (queued >= SIGNER_QUEUE_LENGTH_MAX) throw new AppError('RATE_LIMITED', 'Too many transactions are waiting for this account; try again shortly');
    this.#queued.set(signer, queued + 1);
    const previous = this.#tails.get(signer) ?? Promise.resolve();
    const result = previous.catch(() => {}).then(() => this.#sendNow(request));
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
   * Every instance of the service signs for the same accounts, so the in-process queue alone would let two
   * processes pick the same nonce: the pick, the record and the broadcast run under a PostgreSQL lock per
   * signer that every instance takes. It is held on a connection of its own for the few calls to the node,
   * while the SUBMITTED row is committed on another before the broadcast, as a crash must find it there.
   */
  #sendNow(request: SendRequest): Promise<ChainTransactionRow> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`chain signer ${request.signer.address}`}))`);
      return this.#sendLocked(request);
    });
  }

  async #sendLocked(request: SendRequest): Promise<ChainTransactionRow> {
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
        return this.#record(request, { status: 'FAILED', revertReason: reason });
      }
    }
    const fees = await chain.call('fees', () => chain.publicClient.estimateFeesPerGas());
    const pendingCount = await chain.call('eth_getTransactionCount', () => chain.publicClient.getTransactionCount({ address: signer.address, blockTag: 'pending' }));
    const nonce = Math.max(pendingCount, this.#nextNonce.get(signer.address) ?? 0);
    const serialized = await signer.signTransaction({
      type: 'eip1559',
      chainId,
      nonce,
      gas,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      to: request.to,
      data: request.data,
      value: request.value,
    });
    const row = await this.#record(request, { status: 'SUBMITTED', nonce, hash: keccak256(serialized) });
    try {
      await chain.publicClient.sendRawTransaction({ serializedTransaction: serialized });
    } catch (error) {
      this.#nextNonce.delete(signer.address);
      // The node answered with a refusal: the nonce is free again and the transaction never existed.
      if (error instanceof BaseError && error.walk((cause) => cause instanceof RpcRequestError)) {
        const reason = (revertReasonOf(error) ?? error.shortMessage).slice(0, REASON_LENGTH_MAX);
        const [failed] = await this.db
          .update(chainTransactions)
          .set({ status: 'FAILED', revertReason: `refused by the node: ${reason}`, updatedAt: new Date() })
          .where(eq(chainTransactions.id, row.id))
          .returning();
        return failed as ChainTransactionRow;
      }
      // No answer: it may have been broadcast, so it stays SUBMITTED and the tracker settles it.
      return chain.call('eth_sendRawTransaction', () => Promise.reject(error));
    }
    this.#nextNonce.set(signer.address, nonce + 1);
    return row;
  }

  async #record(request: SendRequest, fields: Partial<ChainTransactionRow> & Pick<ChainTransactionRow, 'status'>): Promise<ChainTransactionRow> {
    const [row] = await this.db
      .insert(chainTransactions)
      .values({ kind: request.kind, userId: request.userId, reference: request.reference ?? null, signer: request.signer.address, ...fields })
      .returning();
    return row as ChainTransactionRow;
  }
}
