import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config.js';
import { register as registerPerson } from '../../../test/support/people.js';
import { type Stack, startStack } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';
import { configSchema } from '../src/server.js';

const ADMIN = { email: 'admin@example.com', password: 'admin password 123' };
let stack: Stack;
let adminToken: string;
beforeAll(async () => {
  stack = await startStack({
    services: ['user', 'transaction'],
    serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password }, transaction: { DEV_FAUCET: 'true', DEV_FAUCET_DAILY_MAX_USD: '25000.00' } },
  });
  const login = await stack.graphql(/* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN);
  adminToken = login.data!.login.token;
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status amount } }`;

const register = async (name: string) => {
  const person = await registerPerson(stack.gatewayUrl, name);
  return { token: person.token, user: { id: person.id } };
};

/** Every balance on the platform, users and system accounts, in one snapshot. */
async function ledgerSnapshot(): Promise<unknown> {
  const result = await stack.graphql(/* GraphQL */ `{ ledgerSnapshot(first: 10000) { totals { currency total } accounts { walletId balance } } }`, {}, adminToken);
  expect(result.errors).toBeUndefined();
  return result.data!.ledgerSnapshot;
}

describe('the development faucet', () => {
  it('is on in development only, unless set', () => {
    expect(parseConfig(configSchema, { NODE_ENV: 'development' }).DEV_FAUCET).toBe(true);
    expect(parseConfig(configSchema, { NODE_ENV: 'production', JWT_SECRET: 'Caa++U4qXnoX8Io8Y4lXAPeZLi5h4n0hzMQvlKuQ6qI=', GATEWAY_SECRET: 'ewF1pwQn37or0ogHKYQ0WHpM3EqMTMUeSxGd0rNvpdg=' }).DEV_FAUCET).toBe(false);
    expect(parseConfig(configSchema, { NODE_ENV: 'test', DEV_FAUCET: 'true' }).DEV_FAUCET).toBe(true);
    expect(() => parseConfig(configSchema, { DEV_FAUCET: 'yes' })).toThrow(/DEV_FAUCET: must be true or false/);
  });

  it('has a daily total per currency, 20,000 USD and 20 ETH unless set', () => {
    const config = parseConfig(configSchema, {});
    expect([config.DEV_FAUCET_DAILY_MAX_USD, config.DEV_FAUCET_DAILY_MAX_ETH]).toEqual([20_000_00n, 20n * 10n ** 18n]);
    expect(parseConfig(configSchema, { DEV_FAUCET_DAILY_MAX_USD: '500.50' }).DEV_FAUCET_DAILY_MAX_USD).toBe(500_50n);
    for (const bad of ['0', '-5', '1e6', '10.001', 'lots']) {
      expect(() => parseConfig(configSchema, { DEV_FAUCET_DAILY_MAX_USD: bad }), bad).toThrow(/DEV_FAUCET_DAILY_MAX_USD: must be a positive amount of USD/);
    }
  });

  it('lets a user deposit USD and ETH to themselves, within its cap, and nothing else', async () => {
    const [me, other] = [await register('me'), await register('other')];
    const deposit = (userId: string, currency: string, amount: string) => stack.graphql(DEPOSIT, { input: { userId, currency, amount }, key: randomUUID() }, me.token);
    expect((await deposit(me.user.id, 'USD', '10000.00')).data?.deposit).toEqual({ status: 'COMPLETED', amount: '10000.00' });
    expect((await deposit(me.user.id, 'ETH', '1.5')).data?.deposit.status).toBe('COMPLETED');
    expect((await deposit(me.user.id, 'USD', '10000.01')).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'amount' });
    expect((await deposit(me.user.id, 'CARBON', '1')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await deposit(other.user.id, 'USD', '1.00')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

/**
 * Runs `count` requests so that they reach the database together: the transactions table is locked against
 * writes until every request waits to insert its row, then all are let go at once.
 */
async function allAtOnce<T>(count: number, send: () => Promise<T>): Promise<T[]> {
  const sql = postgres(stack.subgraphs.transaction!.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = sql.begin(async (tx) => {
      await tx`lock table transactions in share row exclusive mode`;
      locked();
      await released;
    });
    await isLocked;
    const results = Promise.all(Array.from({ length: count }, send));
    await waitFor(
      async () => {
        const [row] = await sql`select count(*)::int as waiting from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'insert into "transactions"%'`;
        return (row?.waiting ?? 0) >= count;
      },
      { timeoutMs: 15_000, message: `${count} requests waiting to record their deposit` },
    );
    release();
    await holding;
    return await results;
  } finally {
    await sql.end();
  }
}

describe('the faucet\'s daily total', () => {
  const wallets = async (token: string) => {
    const result = await stack.graphql(/* GraphQL */ `{ me { wallets { currency balance } transactions(filter: { type: DEPOSIT }) { edges { node { id } } } } }`, {}, token);
    return result.data!.me as { wallets: { currency: string; balance: string }[]; transactions: { edges: unknown[] } };
  };

  it('credits concurrent requests only up to the total, refusing the rest with nothing recorded', async () => {
    const cy = await register('cy');
    const deposit = (amount: string, key = randomUUID()) => stack.graphql(DEPOSIT, { input: { userId: cy.user.id, currency: 'USD', amount }, key }, cy.token);
    const before = await ledgerSnapshot();
    // Five at once, 10,000 USD each, against a total of 25,000: two fit. The table is held locked until all five
    // are waiting to record theirs, so they race for real rather than arrive one after another.
    const results = await allAtOnce(5, () => deposit('10000.00'));
    const completed = results.filter((result) => result.data?.deposit.status === 'COMPLETED');
    const refused = results.filter((result) => result.errors);
    expect([completed.length, refused.length]).toEqual([2, 3]);
    for (const result of refused) {
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'amount' });
      expect(result.errors?.[0]?.message).toMatch(/at most 25,?000\.00 USD per user per day \(UTC\); 5,?000\.00 left today/);
    }
    const afterBurst = await wallets(cy.token);
    expect(afterBurst.wallets.find((wallet) => wallet.currency === 'USD')?.balance).toBe('20000.00');
    expect(afterBurst.transactions.edges).toHaveLength(2);
    expect(await ledgerSnapshot()).not.toEqual(before);

    // What is left fits exactly; a cent more does not, and changes nothing.
    expect((await deposit('5000.00')).data?.deposit.status).toBe('COMPLETED');
    const full = await ledgerSnapshot();
    const overflow = await deposit('0.01');
    expect(overflow.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'amount' });
    expect(overflow.errors?.[0]?.message).toMatch(/0\.00 left today/);
    expect(await ledgerSnapshot()).toEqual(full);
    expect((await wallets(cy.token)).transactions.edges).toHaveLength(3);
  });

  it('answers a replayed key as the first time even when the total is reached, and counts each currency apart', async () => {
    const di = await register('di');
    const deposit = (currency: string, amount: string, key = randomUUID()) => stack.graphql(DEPOSIT, { input: { userId: di.user.id, currency, amount }, key }, di.token);
    const firstKey = randomUUID();
    expect((await deposit('USD', '10000.00', firstKey)).data?.deposit.status).toBe('COMPLETED');
    expect((await deposit('USD', '10000.00')).data?.deposit.status).toBe('COMPLETED');
    expect((await deposit('USD', '5000.00')).data?.deposit.status).toBe('COMPLETED');
    const full = await ledgerSnapshot();
    expect((await deposit('USD', '10000.00', firstKey)).data?.deposit).toEqual({ status: 'COMPLETED', amount: '10000.00' });
    expect(await ledgerSnapshot()).toEqual(full);
    expect((await deposit('ETH', '10')).data?.deposit.status).toBe('COMPLETED');
  });
});
