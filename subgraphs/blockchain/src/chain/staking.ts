import type postgres from 'postgres';
import { type Address, encodeFunctionData, type Hash, maxUint256 } from 'viem';
import { carbonStakingAbi, carbonTokenAbi } from '../../../../contracts/artifacts/index.js';
import { withSessionLock } from '../../../../lib/db.js';
import { AppError, badInput } from '../../../../lib/errors.js';
import { formatAmount } from '../../../../lib/money.js';
import type { ChainTransactionRow } from '../db/schema.js';
import type { BlockchainServiceDeps, StakingLock } from '../deps.js';
import { allowanceOf, carbonBalanceOf, rewardsOf, stakedOf } from './reads.js';

/** How long staking waits for its approval, or a staking call, to be mined before the next call goes. */
const APPROVAL_WAIT_MS = 30_000;
/**
 * Every staking call first accrues rewards for the time since the last update. An estimate made in the same
 * second as that update sees nothing to accrue; the call, mined a second later, writes up to three slots from
 * zero (the reserve, the account's accrued rewards and its paid-per-token mark, about 22,100 gas each). Seen
 * in loaded test runs as "out of gas". Unused gas is not charged.
 */
const STAKING_ACCRUAL_GAS = 70_000n;

/** Staking calls one instance holds at once, running or waiting, across all users. */
const STAKING_CALLS_MAX = 100;

/**
 * One staking workflow per user at a time, across every instance: staking's read-approve-stake must not
 * interleave with another of the same account (approvals set the allowance, they do not add to it), and each
 * call waits for the previous one to be mined (see `mined`). Within an instance a user's calls wait in a queue;
 * each then holds the user's session advisory lock while it runs, and one that waits for it longer than the
 * statement time-out (another instance's call runs long) is refused (RATE_LIMITED).
 * A lock holds a pooled connection, and its workflow needs more for its reads and its send, so an instance
 * runs the workflows of at most a third of its pool's connections' worth of users at once and refuses calls
 * of further users (RATE_LIMITED): workflows holding every connection would wait for ever on the ones they need.
 */
export function createStakingLock(sql: postgres.Sql, poolSizeMax: number): StakingLock {
  const usersMax = Math.max(1, Math.floor(poolSizeMax / 3));
  const tails = new Map<string, Promise<unknown>>();
  let calls = 0;
  return (userId, task) => {
    const previous = tails.get(userId);
    if (calls >= STAKING_CALLS_MAX || (!previous && tails.size >= usersMax)) throw new AppError('RATE_LIMITED', 'Too many staking calls are under way; try again shortly');
    calls += 1;
    const result = (previous ?? Promise.resolve()).then(() =>
      withSessionLock(sql, `chain-staking:${userId}`, 'Another staking call of yours is still under way; try again shortly', task),
    );
    const tail = result
      .catch(() => {})
      .finally(() => {
        calls -= 1;
        if (tails.get(userId) === tail) tails.delete(userId);
      });
    tails.set(userId, tail);
    return result;
  };
}

/**
 * Stakes from the user's custodial account. The first stake approves the platform's own staking contract for
 * the maximum once: an exact approval per stake would be overwritten by the next one (approve sets, it does
 * not add), and a stake sent while the previous one is unmined would find its allowance gone.
 */
export async function stakeCarbon(deps: BlockchainServiceDeps, userId: string, amountMinor: bigint): Promise<ChainTransactionRow> {
  const { chain, custody, sender } = deps;
  const account = await custody.accountOf(userId);
  const address = account.address as Address;
  const balance = await carbonBalanceOf(chain, address);
  if (amountMinor > balance) throw badInput(`amount is more than the ${formatAmount(balance, 'CARBON')} CARBON in your chain account`, { field: 'amount' });
  const signer = custody.signerOf(account);
  if ((await allowanceOf(chain, address, chain.contracts.staking)) < amountMinor) {
    const approval = await sender.send({
      signer,
      kind: 'APPROVE',
      userId,
      to: chain.contracts.token,
      data: encodeFunctionData({ abi: carbonTokenAbi, functionName: 'approve', args: [chain.contracts.staking, maxUint256] }),
    });
    if (approval.status === 'FAILED') return approval;
    // The stake's estimate needs the allowance in place.
    const hash = approval.hash as Hash;
    await chain.call('wait for approval', () => chain.publicClient.waitForTransactionReceipt({ hash, timeout: APPROVAL_WAIT_MS }));
  }
  const data = encodeFunctionData({ abi: carbonStakingAbi, functionName: 'stake', args: [amountMinor] });
  return mined(deps, await sender.send({ signer, kind: 'STAKE', userId, to: chain.contracts.staking, data, gasExtra: STAKING_ACCRUAL_GAS }));
}

/**
 * Waits until a user's staking call is in a block before the caller's per-user lock lets the next one go: the
 * next call's gas is estimated against the chain, and a staking call costs more once an earlier one has run
 * (it writes slots from zero). The answer is the transaction as sent; the tracker follows it to confirmation.
 */
async function mined(deps: BlockchainServiceDeps, transaction: ChainTransactionRow): Promise<ChainTransactionRow> {
  if (transaction.status === 'FAILED' || !transaction.hash) return transaction;
  const hash = transaction.hash as Hash;
  await deps.chain.call('wait for the staking call', () => deps.chain.publicClient.waitForTransactionReceipt({ hash, timeout: APPROVAL_WAIT_MS }));
  return transaction;
}

export async function unstakeCarbon(deps: BlockchainServiceDeps, userId: string, amountMinor: bigint): Promise<ChainTransactionRow> {
  const { chain, custody, sender } = deps;
  const account = await custody.accountOf(userId);
  const staked = await stakedOf(chain, account.address as Address);
  if (amountMinor > staked) throw badInput(`amount is more than the ${formatAmount(staked, 'CARBON')} CARBON you have staked`, { field: 'amount' });
  const data = encodeFunctionData({ abi: carbonStakingAbi, functionName: 'unstake', args: [amountMinor] });
  return mined(deps, await sender.send({ signer: custody.signerOf(account), kind: 'UNSTAKE', userId, to: chain.contracts.staking, data, gasExtra: STAKING_ACCRUAL_GAS }));
}

export async function claimStakingRewards(deps: BlockchainServiceDeps, userId: string): Promise<ChainTransactionRow> {
  const { chain, custody, sender } = deps;
  const account = await custody.accountOf(userId);
  if ((await rewardsOf(chain, account.address as Address)) === 0n) throw badInput('There are no staking rewards to claim yet');
  const data = encodeFunctionData({ abi: carbonStakingAbi, functionName: 'claim' });
  return mined(deps, await sender.send({ signer: custody.signerOf(account), kind: 'CLAIM_REWARDS', userId, to: chain.contracts.staking, data, gasExtra: STAKING_ACCRUAL_GAS }));
}

/** Development and tests: the operator (the token's minter) mints MCO2 to a user's custodial account. */
export async function mintToUser(deps: BlockchainServiceDeps, userId: string, amountMinor: bigint): Promise<ChainTransactionRow> {
  const { chain, custody, sender } = deps;
  const account = await custody.accountOf(userId);
  const data = encodeFunctionData({ abi: carbonTokenAbi, functionName: 'mint', args: [account.address as Address, amountMinor] });
  return sender.send({ signer: chain.operator, kind: 'MINT', userId, to: chain.contracts.token, data });
}
