import { type Address, maxUint256, parseEventLogs, parseUnits, zeroAddress } from 'viem';
import type { HDAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { carbonStakingAbi, carbonStakingBytecode, carbonTokenAbi } from '../artifacts/index.js';
import { type Chain, expectRevert, revertEachTest, startChain } from './chain.js';

const TONNE = parseUnits('1', 18);
const SCALE = 10n ** 18n;
/** Each staked tonne earns 0.001 tonne per second. */
const RATE_PER_TOKEN_PER_SECOND = 10n ** 15n;
const MINTED_EACH = 1_000n * TONNE;

let chain: Chain;
let token: Address;
let staking: Address;

beforeAll(async () => {
  chain = await startChain();
  const { owner, alice, bob, funder } = accounts();
  token = await chain.deployToken(owner);
  staking = await chain.deployed(
    chain.client.deployContract({ account: owner, abi: carbonStakingAbi, bytecode: carbonStakingBytecode, args: [token, owner.address] }),
  );
  for (const holder of [alice, bob, funder]) {
    await chain.mined(chain.client.writeContract({ account: owner, address: token, abi: carbonTokenAbi, functionName: 'mint', args: [holder.address, MINTED_EACH] }));
    await chain.mined(chain.client.writeContract({ account: holder, address: token, abi: carbonTokenAbi, functionName: 'approve', args: [staking, maxUint256] }));
  }
});
revertEachTest(() => chain);

function accounts() {
  const [owner, alice, bob, funder, stranger] = chain.accounts;
  return { owner: owner!, alice: alice!, bob: bob!, funder: funder!, stranger: stranger! };
}

function stake(account: HDAccount, amount: bigint) {
  return chain.client.writeContract({ account, address: staking, abi: carbonStakingAbi, functionName: 'stake', args: [amount] });
}
function unstake(account: HDAccount, amount: bigint) {
  return chain.client.writeContract({ account, address: staking, abi: carbonStakingAbi, functionName: 'unstake', args: [amount] });
}
function claim(account: HDAccount) {
  return chain.client.writeContract({ account, address: staking, abi: carbonStakingAbi, functionName: 'claim' });
}
function fundRewards(amount: bigint, account: HDAccount = accounts().funder) {
  return chain.client.writeContract({ account, address: staking, abi: carbonStakingAbi, functionName: 'fundRewards', args: [amount] });
}
function setRewardRate(ratePerTokenPerSecond: bigint, account: HDAccount = accounts().owner) {
  return chain.client.writeContract({ account, address: staking, abi: carbonStakingAbi, functionName: 'setRewardRate', args: [ratePerTokenPerSecond] });
}

/** Sends the transaction in a block at exactly `timestampSeconds` and waits for it. */
async function at(timestampSeconds: bigint, send: () => Promise<`0x${string}`>) {
  await chain.nextBlockAt(timestampSeconds);
  return chain.mined(send());
}

async function claimedAt(timestampSeconds: bigint, account: HDAccount): Promise<bigint> {
  const receipt = await at(timestampSeconds, () => claim(account));
  const [paid] = parseEventLogs({ abi: carbonStakingAbi, logs: receipt.logs, eventName: 'RewardPaid' });
  expect(paid?.args.account).toBe(account.address);
  return paid!.args.amount;
}

function earned(account: Address) {
  return chain.client.readContract({ address: staking, abi: carbonStakingAbi, functionName: 'earned', args: [account] });
}
function view(functionName: 'totalStaked' | 'rewardPoolRemaining' | 'rewardsReserved' | 'rewardRatePerTokenPerSecond') {
  return chain.client.readContract({ address: staking, abi: carbonStakingAbi, functionName });
}
function balanceOf(account: Address) {
  return chain.client.readContract({ address: token, abi: carbonTokenAbi, functionName: 'balanceOf', args: [account] });
}

/** A start time for a test's timeline, after every block mined so far. */
async function startSeconds(): Promise<bigint> {
  return (await chain.latestTimestampSeconds()) + 100n;
}

describe('stake and unstake', () => {
  it('takes and returns principal, with Staked and Unstaked events', async () => {
    const { alice } = accounts();
    const staked = await chain.mined(stake(alice, 100n * TONNE));
    const [stakedEvent] = parseEventLogs({ abi: carbonStakingAbi, logs: staked.logs, eventName: 'Staked' });
    expect(stakedEvent?.args).toEqual({ account: alice.address, amount: 100n * TONNE });
    expect(await view('totalStaked')).toBe(100n * TONNE);
    expect(await balanceOf(staking)).toBe(100n * TONNE);

    const unstaked = await chain.mined(unstake(alice, 40n * TONNE));
    const [unstakedEvent] = parseEventLogs({ abi: carbonStakingAbi, logs: unstaked.logs, eventName: 'Unstaked' });
    expect(unstakedEvent?.args).toEqual({ account: alice.address, amount: 40n * TONNE });
    expect(await chain.client.readContract({ address: staking, abi: carbonStakingAbi, functionName: 'stakedOf', args: [alice.address] })).toBe(60n * TONNE);
    expect(await view('totalStaked')).toBe(60n * TONNE);
    expect(await balanceOf(alice.address)).toBe(MINTED_EACH - 60n * TONNE);
  });

  it('refuses zero amounts, unstaking more than staked, and staking without allowance or balance', async () => {
    const { alice, stranger, owner } = accounts();
    await chain.mined(stake(alice, 10n * TONNE));
    await expectRevert(stake(alice, 0n), 'ZeroAmount', []);
    await expectRevert(unstake(alice, 0n), 'ZeroAmount', []);
    await expectRevert(unstake(alice, 10n * TONNE + 1n), 'InsufficientStake', [10n * TONNE + 1n, 10n * TONNE]);
    await expectRevert(stake(alice, MINTED_EACH), 'ERC20InsufficientBalance', [alice.address, MINTED_EACH - 10n * TONNE, MINTED_EACH]);
    await chain.mined(chain.client.writeContract({ account: owner, address: token, abi: carbonTokenAbi, functionName: 'mint', args: [stranger.address, TONNE] }));
    await expectRevert(stake(stranger, TONNE), 'ERC20InsufficientAllowance', [staking, 0n, TONNE]);
  });

  it('refuses deployment without a token or owner', async () => {
    const { owner } = accounts();
    await expectRevert(
      chain.client.deployContract({ account: owner, abi: carbonStakingAbi, bytecode: carbonStakingBytecode, args: [zeroAddress, owner.address] }),
      'ZeroAddress',
    );
    await expectRevert(
      chain.client.deployContract({ account: owner, abi: carbonStakingAbi, bytecode: carbonStakingBytecode, args: [token, zeroAddress] }),
      'OwnableInvalidOwner',
      [zeroAddress],
    );
  });
});

describe('reward rate and funding', () => {
  it('lets only the owner set the rate, up to its maximum, with RewardRateChanged', async () => {
    const { stranger } = accounts();
    const receipt = await chain.mined(setRewardRate(RATE_PER_TOKEN_PER_SECOND));
    const [changed] = parseEventLogs({ abi: carbonStakingAbi, logs: receipt.logs, eventName: 'RewardRateChanged' });
    expect(changed?.args).toEqual({ previousRatePerTokenPerSecond: 0n, newRatePerTokenPerSecond: RATE_PER_TOKEN_PER_SECOND });
    expect(await view('rewardRatePerTokenPerSecond')).toBe(RATE_PER_TOKEN_PER_SECOND);

    await expectRevert(setRewardRate(1n, stranger), 'OwnableUnauthorizedAccount', [stranger.address]);
    await chain.mined(setRewardRate(SCALE));
    await expectRevert(setRewardRate(SCALE + 1n), 'RewardRateTooHigh', [SCALE + 1n, SCALE]);
  });

  it('lets anyone fund the pool, with RewardsFunded, and refuses zero', async () => {
    const { funder } = accounts();
    const receipt = await chain.mined(fundRewards(50n * TONNE));
    const [funded] = parseEventLogs({ abi: carbonStakingAbi, logs: receipt.logs, eventName: 'RewardsFunded' });
    expect(funded?.args).toEqual({ funder: funder.address, amount: 50n * TONNE });
    expect(await view('rewardPoolRemaining')).toBe(50n * TONNE);
    expect(await view('totalStaked')).toBe(0n);
    await expectRevert(fundRewards(0n), 'ZeroAmount', []);
  });

  it('hands the rate setting over only when the new owner accepts (two steps)', async () => {
    const { owner, stranger } = accounts();
    await chain.mined(chain.client.writeContract({ account: owner, address: staking, abi: carbonStakingAbi, functionName: 'transferOwnership', args: [stranger.address] }));
    await expectRevert(setRewardRate(1n, stranger), 'OwnableUnauthorizedAccount', [stranger.address]);
    await chain.mined(chain.client.writeContract({ account: stranger, address: staking, abi: carbonStakingAbi, functionName: 'acceptOwnership' }));
    await chain.mined(setRewardRate(1n, stranger));
    await expectRevert(setRewardRate(1n, owner), 'OwnableUnauthorizedAccount', [owner.address]);
  });
});

describe('reward accrual', () => {
  it('accrues per staked token per second, exactly', async () => {
    const { alice } = accounts();
    await chain.mined(fundRewards(1_000n * TONNE));
    await chain.mined(setRewardRate(RATE_PER_TOKEN_PER_SECOND));
    const start = await startSeconds();
    await at(start, () => stake(alice, 100n * TONNE));

    await chain.mineAt(start + 100n);
    // 100 tonnes * 0.001 per tonne per second * 100 s.
    expect(await earned(alice.address)).toBe(10n * TONNE);
    expect(await view('rewardPoolRemaining')).toBe(990n * TONNE);
    expect(await view('rewardsReserved')).toBe(10n * TONNE);

    expect(await claimedAt(start + 200n, alice)).toBe(20n * TONNE);
    expect(await earned(alice.address)).toBe(0n);
    expect(await view('rewardPoolRemaining')).toBe(980n * TONNE);
    expect(await view('rewardsReserved')).toBe(0n);
    expect(await balanceOf(alice.address)).toBe(MINTED_EACH - 100n * TONNE + 20n * TONNE);
  });

  it('pays each staker by their own stake and time, independent of the others', async () => {
    const { alice, bob } = accounts();
    await chain.mined(fundRewards(1_000n * TONNE));
    await chain.mined(setRewardRate(RATE_PER_TOKEN_PER_SECOND));
    const start = await startSeconds();
    await at(start, () => stake(alice, 100n * TONNE));
    await at(start + 10n, () => stake(bob, 300n * TONNE));

    expect(await claimedAt(start + 20n, alice)).toBe(2n * TONNE); // 100 t * 0.001 * 20 s
    expect(await claimedAt(start + 30n, bob)).toBe(6n * TONNE); // 300 t * 0.001 * 20 s
  });

  it('applies a new rate from the moment it is set', async () => {
    const { alice } = accounts();
    await chain.mined(fundRewards(1_000n * TONNE));
    await chain.mined(setRewardRate(RATE_PER_TOKEN_PER_SECOND));
    const start = await startSeconds();
    await at(start, () => stake(alice, 100n * TONNE));
    await at(start + 50n, () => setRewardRate(2n * RATE_PER_TOKEN_PER_SECOND));
    await at(start + 100n, () => setRewardRate(0n));
    // 100 t * (0.001 * 50 s + 0.002 * 50 s), then nothing at rate zero.
    expect(await claimedAt(start + 1_000n, alice)).toBe(15n * TONNE);
  });

  it('keeps accrued rewards claimable after unstaking, and accrues on the smaller stake after a partial unstake', async () => {
    const { alice } = accounts();
    await chain.mined(fundRewards(1_000n * TONNE));
    await chain.mined(setRewardRate(RATE_PER_TOKEN_PER_SECOND));
    const start = await startSeconds();
    await at(start, () => stake(alice, 100n * TONNE));
    await at(start + 10n, () => unstake(alice, 60n * TONNE));
    await at(start + 20n, () => unstake(alice, 40n * TONNE));
    // 100 t * 0.001 * 10 s + 40 t * 0.001 * 10 s, and nothing once nothing is staked.
    expect(await claimedAt(start + 500n, alice)).toBe(1_400_000_000_000_000_000n);
  });
});

describe('the reward pool', () => {
  it('pays nothing while the pool is empty, and funding later does not pay for the past', async () => {
    const { alice } = accounts();
    await chain.mined(setRewardRate(RATE_PER_TOKEN_PER_SECOND));
    const start = await startSeconds();
    await at(start, () => stake(alice, 100n * TONNE));

    await chain.mineAt(start + 1_000n);
    expect(await earned(alice.address)).toBe(0n);
    await expectRevert(claim(alice), 'NothingToClaim', []);

    await at(start + 1_001n, () => fundRewards(100n * TONNE));
    expect(await claimedAt(start + 1_011n, alice)).toBe(TONNE); // 100 t * 0.001 * 10 s
  });

  it('stops accrual when the pool is exhausted; principal stays withdrawable in full', async () => {
    const { alice } = accounts();
    await chain.mined(fundRewards(5n * TONNE));
    await chain.mined(setRewardRate(RATE_PER_TOKEN_PER_SECOND));
    const start = await startSeconds();
    await at(start, () => stake(alice, 100n * TONNE));

    // 0.1 t per second: the 5 t pool lasts 50 s.
    await chain.mineAt(start + 30n);
    expect(await earned(alice.address)).toBe(3n * TONNE);
    await chain.mineAt(start + 1_000n);
    expect(await earned(alice.address)).toBe(5n * TONNE);
    expect(await view('rewardPoolRemaining')).toBe(0n);
    expect(await view('rewardsReserved')).toBe(5n * TONNE);

    expect(await claimedAt(start + 2_000n, alice)).toBe(5n * TONNE);
    await chain.mineAt(start + 3_000n);
    expect(await earned(alice.address)).toBe(0n);
    await expectRevert(claim(alice), 'NothingToClaim', []);

    await chain.mined(unstake(alice, 100n * TONNE));
    expect(await balanceOf(alice.address)).toBe(MINTED_EACH + 5n * TONNE);
    expect(await balanceOf(staking)).toBe(0n);
  });

  it('shares the last of the pool pro rata and resumes, without back pay, when funded again', async () => {
    const { alice, bob } = accounts();
    await chain.mined(fundRewards(8n * TONNE));
    await chain.mined(setRewardRate(RATE_PER_TOKEN_PER_SECOND));
    const start = await startSeconds();
    await at(start, () => stake(alice, 100n * TONNE));
    await at(start + 10n, () => stake(bob, 300n * TONNE));
    // Alice alone earns 1 t in 10 s; then 0.4 t/s for both drains the other 7 t in 17.5 s, shared 1:3.
    await at(start + 100n, () => fundRewards(4n * TONNE));
    await chain.mineAt(start + 105n);
    // After funding, 5 s more at 0.1 t/s and 0.3 t/s.
    expect(await earned(alice.address)).toBe(1n * TONNE + 1_750_000_000_000_000_000n + 500_000_000_000_000_000n);
    expect(await earned(bob.address)).toBe(5_250_000_000_000_000_000n + 1_500_000_000_000_000_000n);
    expect(await view('rewardPoolRemaining')).toBe(2n * TONNE);
  });

  it('never pays more than was funded, whatever the rounding, and returns all principal', async () => {
    const { alice, bob } = accounts();
    // Odd amounts so that every division rounds; the highest rate drains the pool within a second.
    const poolFunded = 1_000_000_007n;
    const aliceStake = 3n * TONNE + 1n;
    const bobStake = 7n * TONNE + 3n;
    const totalStake = aliceStake + bobStake;
    await chain.mined(setRewardRate(SCALE));
    const start = await startSeconds();
    await at(start, () => stake(alice, aliceStake));
    await at(start + 1n, () => stake(bob, bobStake));
    await at(start + 2n, () => fundRewards(poolFunded));
    const aliceClaimed = await claimedAt(start + 10n, alice);
    const bobClaimed = await claimedAt(start + 11n, bob);

    // The contract's arithmetic written out. At alice's claim the interval since funding is capped by the
    // pool: the reward per token rounds down, what is taken from the pool rounds up. At bob's claim the
    // leftover pool is capped again. Each share rounds down.
    const firstIncrease = (poolFunded * SCALE) / totalStake;
    const firstTaken = ceilDiv(totalStake * firstIncrease, SCALE);
    const secondIncrease = ((poolFunded - firstTaken) * SCALE) / totalStake;
    expect(aliceClaimed).toBe((aliceStake * firstIncrease) / SCALE);
    expect(bobClaimed).toBe((bobStake * (firstIncrease + secondIncrease)) / SCALE);
    expect(aliceClaimed + bobClaimed).toBeLessThanOrEqual(poolFunded);
    // Nothing is created or lost: what was not paid is still in the pool or reserved (rounding dust).
    const unpaid = (await view('rewardPoolRemaining')) + (await view('rewardsReserved'));
    expect(aliceClaimed + bobClaimed + unpaid).toBe(poolFunded);

    await chain.mined(unstake(alice, aliceStake));
    await chain.mined(unstake(bob, bobStake));
    expect(await balanceOf(alice.address)).toBe(MINTED_EACH + aliceClaimed);
    expect(await balanceOf(bob.address)).toBe(MINTED_EACH + bobClaimed);
    expect(await balanceOf(staking)).toBe(unpaid);
  });
});

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}
