import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { type BlockchainService, CHAIN_ACCOUNT, type DeployedChain, newUserId, startBlockchainService, startDeployedChain, TONNE } from './harness.js';

let chain: DeployedChain;
let service: BlockchainService;
const admin = newUserId();

const TX = 'id hash status revertReason';
const STAKE = /* GraphQL */ `mutation ($amount: Amount!) { stake(amount: $amount) { ${TX} } }`;
const UNSTAKE = /* GraphQL */ `mutation ($amount: Amount!) { unstake(amount: $amount) { ${TX} } }`;
const CLAIM = /* GraphQL */ `mutation { claimRewards { ${TX} } }`;

beforeAll(async () => {
  chain = await startDeployedChain();
  // 0.001 tonne per staked tonne per second, from a pool of 1000 tonnes.
  await chain.fundRewards(1000n * TONNE, 10n ** 15n);
  service = await startBlockchainService({ rpcUrl: chain.anvil.rpcUrl, contracts: chain.contracts });
});
afterAll(async () => {
  await service?.stop();
  await chain?.anvil.stop();
});

async function confirmed(userId: string, transaction: { id: string; status: string }) {
  expect(transaction.status).toBe('SUBMITTED');
  return waitFor(
    async () => {
      const result = await service.as(userId, userId === admin ? 'ADMIN' : 'BUYER')(`query ($id: ID!) { chainTransaction(id: $id) { ${TX} } }`, { id: transaction.id });
      const current = result.data?.chainTransaction;
      return ['CONFIRMED', 'FAILED'].includes(current?.status) && current;
    },
    { timeoutMs: 10_000, message: `transaction ${transaction.id} to settle` },
  );
}

async function holderOf(tonnes: string) {
  const userId = await service.newUser();
  const minted = await service.as(admin, 'ADMIN')(/* GraphQL */ `mutation ($id: ID!, $amount: Amount!) { mintCarbonOnChain(userId: $id, amount: $amount) { ${TX} } }`, { id: userId, amount: tonnes });
  expect(minted.errors).toBeUndefined();
  expect((await confirmed(admin, minted.data!.mintCarbonOnChain)).status).toBe('CONFIRMED');
  const me = service.as(userId);
  const account = async () => (await me(CHAIN_ACCOUNT, { id: userId })).data!._entities[0].chainAccount;
  return { userId, me, account };
}

describe('staking from a custodial account', () => {
  it('stakes, earns, claims and unstakes, each a confirmed transaction', async () => {
    const { userId, me, account } = await holderOf('10');
    const staked = await me(STAKE, { amount: '4' });
    expect(staked.errors).toBeUndefined();
    expect((await confirmed(userId, staked.data!.stake)).status).toBe('CONFIRMED');
    expect(await account()).toMatchObject({ carbonBalance: '6.000000000000000000', stake: { staked: '4.000000000000000000' } });

    await chain.client.request({ method: 'evm_increaseTime' as never, params: [100] as never });
    await chain.client.request({ method: 'anvil_mine' as never, params: ['0x1'] as never });
    expect(Number((await account()).stake.rewards)).toBeGreaterThan(0);
    const claim = await me(CLAIM);
    expect(claim.errors).toBeUndefined();
    expect((await confirmed(userId, claim.data!.claimRewards)).status).toBe('CONFIRMED');
    expect(Number((await account()).carbonBalance)).toBeGreaterThan(6);

    const unstaked = await me(UNSTAKE, { amount: '1.5' });
    expect((await confirmed(userId, unstaked.data!.unstake)).status).toBe('CONFIRMED');
    expect((await account()).stake.staked).toBe('2.500000000000000000');
    const kinds = await service.sql`select kind from chain_transactions where user_id = ${userId} order by created_at`;
    expect(kinds.map((row) => row.kind)).toEqual(['GAS_FUNDING', 'MINT', 'APPROVE', 'STAKE', 'CLAIM_REWARDS', 'UNSTAKE']);
  });

  it('lets five stakes from one account run at once without a nonce collision', async () => {
    const { userId, me, account } = await holderOf('5');
    const results = await Promise.all(Array.from({ length: 5 }, () => me(STAKE, { amount: '1' })));
    for (const result of results) {
      const settled = await confirmed(userId, result.data!.stake);
      expect(settled.status, `revert reason: ${settled.revertReason}`).toBe('CONFIRMED');
    }
    expect((await account()).stake.staked).toBe('5.000000000000000000');
  });

  it('refuses bad amounts with BAD_USER_INPUT before anything is sent', async () => {
    const { userId, me } = await holderOf('1');
    const before = await service.sql`select count(*)::int as n from chain_transactions where user_id = ${userId}`;
    for (const amount of ['0', '-1', '1e3', '0.0000000000000000001', 'abc', '1.5']) {
      const result = await me(STAKE, { amount });
      expect(result.errors?.[0]?.extensions?.code, amount).toBe('BAD_USER_INPUT');
    }
    expect((await me(UNSTAKE, { amount: '0.5' })).errors?.[0]?.message).toMatch(/more than the 0.000000000000000000 CARBON you have staked/);
    expect((await me(CLAIM)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const literal = await me(/* GraphQL */ `mutation { stake(amount: 1) { id } }`);
    expect(literal.errors?.[0]?.extensions?.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    const after = await service.sql`select count(*)::int as n from chain_transactions where user_id = ${userId}`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('requires an ADMIN to mint, to a user id', async () => {
    const someone = newUserId();
    const mint = await service.as(someone)(/* GraphQL */ `mutation ($id: ID!) { mintCarbonOnChain(userId: $id, amount: "1") { id } }`, { id: someone });
    expect(mint.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const badId = await service.as(admin, 'ADMIN')(/* GraphQL */ `mutation { mintCarbonOnChain(userId: "nope", amount: "1") { id } }`);
    expect(badId.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
