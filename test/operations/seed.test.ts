import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_PEOPLE, seedPlatform, type SeedOptions } from '../../scripts/seed/seed-platform.js';
import { type Stack, startStack } from '../support/stack.js';

const ADMIN = { email: 'seed-admin@example.com', password: 'seed admin password' };

let stack: Stack;
let options: SeedOptions;

beforeAll(async () => {
  stack = await startStack({ serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password }, price: { PRICE_BACKFILL_DAYS: '2' } } });
  options = { gatewayUrl: stack.gatewayUrl, admin: ADMIN, password: 'seed test password' };
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** Every wallet on the ledger, system accounts included, as the administrator sees it. */
async function ledger(): Promise<unknown[]> {
  const login = await stack.graphql(/* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN);
  const snapshot = await stack.graphql(
    /* GraphQL */ `query { ledgerSnapshot(first: 1000) { accounts { walletId systemAccount currency balance owner { email } } } }`,
    {},
    login.data!.login.token,
  );
  expect(snapshot.errors).toBeUndefined();
  return snapshot.data!.ledgerSnapshot.accounts;
}

describe('the platform the seed runs on', () => {
  // Every subgraph is up here, so the gateway is ready (the accounts tests see it not ready with one up).
  it("is ready at the gateway's /ready, with every subgraph ok", async () => {
    const ready = await fetch(new URL('/ready', stack.gatewayUrl));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, subgraphs: { user: 'ok', price: 'ok', transaction: 'ok', blockchain: 'ok', notification: 'ok' } });
  });
});

describe('seed', () => {
  it('makes buyers, sellers and their money through the API, and a second run changes nothing', async () => {
    const first = await seedPlatform(options);
    expect(first.steps.filter((step) => step.outcome === 'existing').map((step) => step.name)).toEqual(['admin-sign-in']);
    expect(first.people.map((person) => person.email)).toEqual(SEED_PEOPLE.map((person) => person.email));
    const ada = first.people.find((person) => person.displayName === 'Ada Lovelace')!;
    // 5000 deposited, 120 to Grace, 250 to Acme, and 12 tonnes bought (its price varies); 12 bought, 2 retired; 1.5 ETH.
    expect(Number(ada.balances.USD)).toBeLessThan(5000 - 120 - 250);
    expect(ada.balances.CARBON).toBe('10.000000000000000000');
    expect(ada.balances.ETH).toBe('1.500000000000000000');
    const acme = first.people.find((person) => person.displayName === 'Acme Reforestation')!;
    expect(acme.balances.USD).toBe('310.00');
    const alan = first.people.find((person) => person.displayName === 'Alan Turing')!;
    expect(alan.balances.USD).toBe('770.50');
    expect(first.priceHistoryDays).toBeGreaterThanOrEqual(2);
    const ledgerAfterFirst = await ledger();

    const second = await seedPlatform(options);
    expect(second.steps.map((step) => step.name)).toEqual(first.steps.map((step) => step.name));
    expect(second.steps.filter((step) => step.outcome === 'created')).toEqual([]);
    expect(second.people).toEqual(first.people);
    expect(await ledger()).toEqual(ledgerAfterFirst);
  }, 120_000);
});
