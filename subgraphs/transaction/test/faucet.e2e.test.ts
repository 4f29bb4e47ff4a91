import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config.js';
import { type Stack, startStack } from '../../../test/support/stack.js';
import { configSchema } from '../src/server.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ serviceEnv: { transaction: { DEV_FAUCET: 'true' } } });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status amount } }`;

describe('the development faucet', () => {
  it('is on in development only, unless set', () => {
    expect(parseConfig(configSchema, { NODE_ENV: 'development' }).faucetEnabled).toBe(true);
    expect(parseConfig(configSchema, { NODE_ENV: 'production', JWT_SECRET: 'Caa++U4qXnoX8Io8Y4lXAPeZLi5h4n0hzMQvlKuQ6qI=', GATEWAY_SECRET: 'ewF1pwQn37or0ogHKYQ0WHpM3EqMTMUeSxGd0rNvpdg=' }).faucetEnabled).toBe(false);
    expect(parseConfig(configSchema, { NODE_ENV: 'test', DEV_FAUCET: 'true' }).faucetEnabled).toBe(true);
    expect(() => parseConfig(configSchema, { DEV_FAUCET: 'yes' })).toThrow(/DEV_FAUCET: must be true or false/);
  });

  it('lets a user deposit USD and ETH to themselves, within its cap, and nothing else', async () => {
    const register = async (name: string) =>
      (await stack.graphql(/* GraphQL */ `mutation ($input: RegisterInput!) { register(input: $input) { token user { id } } }`, {
        input: { email: `${name}-${randomUUID()}@example.com`, password: 'long enough password', displayName: name, role: 'BUYER' },
      })).data!.register as { token: string; user: { id: string } };
    const [me, other] = [await register('me'), await register('other')];
    const deposit = (userId: string, currency: string, amount: string) => stack.graphql(DEPOSIT, { input: { userId, currency, amount }, key: randomUUID() }, me.token);
    expect((await deposit(me.user.id, 'USD', '10000.00')).data?.deposit).toEqual({ status: 'COMPLETED', amount: '10000.00' });
    expect((await deposit(me.user.id, 'ETH', '1.5')).data?.deposit.status).toBe('COMPLETED');
    expect((await deposit(me.user.id, 'USD', '10000.01')).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'amount' });
    expect((await deposit(me.user.id, 'CARBON', '1')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await deposit(other.user.id, 'USD', '1.00')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
