import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../lib/auth/internal-credential.js';
import { type Person, register } from '../../test/support/people.js';
import { postGraphQL, type Stack, startStack, TEST_SECRETS } from '../../test/support/stack.js';

const ADMIN = { email: 'admin@example.com', password: 'admin password 123' };
const TRANSFERS = 20;
const HISTORY = /* GraphQL */ `query History($first: Int!) {
  transactions(first: $first) { edges { node { amount from { displayName } to { displayName } } } } }`;
const TRANSFER = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { status } }`;
const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status } }`;

let stack: Stack;
let adminToken: string;
/** Every statement the user subgraph's pool sent, in order. */
const userStatements: string[] = [];
const readsOf = (table: string, statements: readonly string[]) => statements.filter((text) => text.includes(`from "${table}"`));

/** GraphQL operations the user subgraph has answered over HTTP, from its /metrics: each gateway fetch is one. */
async function userOperationsServed(): Promise<number> {
  const metrics = await (await fetch(stack.userUrl.replace('/graphql', '/metrics'))).text();
  return metrics
    .split('\n')
    .filter((line) => line.startsWith('ecocoin_graphql_requests_total{'))
    .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** The statements the user subgraph ran, and the operations it served, while `work` ran. */
async function measured<T>(work: () => Promise<T>): Promise<{ result: T; statements: string[]; operations: number }> {
  const operationsBefore = await userOperationsServed();
  const from = userStatements.length;
  const result = await work();
  return { result, statements: userStatements.slice(from), operations: (await userOperationsServed()) - operationsBefore };
}

async function mustSucceed(query: string, variables: Record<string, unknown>, token: string) {
  const result = await stack.graphql(query, variables, token);
  expect(result.errors).toBeUndefined();
  return result.data!;
}

beforeAll(async () => {
  stack = await startStack({
    services: ['user', 'transaction'],
    serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } },
    // The gateway asks the user subgraph whether a token's account still exists; a long-lived answer keeps that
    // lookup out of the statements counted here.
    gatewayEnv: { ACCOUNT_CHECK_TTL_MS: '600000' },
    onStatement: (service, text) => {
      if (service === 'user') userStatements.push(text);
    },
  });
  const login = await stack.graphql(/* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN);
  adminToken = login.data!.login.token;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('entity resolution in batches', () => {
  it('reads the names of a 20-row history with one users statement per gateway fetch, not one per row', async () => {
    const ana = await register(stack.gatewayUrl, 'Ana');
    const ben = await register(stack.gatewayUrl, 'Ben');
    for (const person of [ana, ben]) {
      await mustSucceed(DEPOSIT, { input: { userId: person.id, currency: 'USD', amount: '100.00' }, key: randomUUID() }, adminToken);
    }
    for (let count = 0; count < TRANSFERS; count += 1) {
      const payer = count % 2 === 0 ? ana : ben;
      const payee = payer === ana ? ben : ana;
      const sent = await mustSucceed(TRANSFER, { input: { to: payee.id, currency: 'USD', amount: '1.00' }, key: randomUUID() }, payer.token);
      expect(sent.transfer.status).toBe('COMPLETED');
    }

    const { result, statements, operations } = await measured(() => mustSucceed(HISTORY, { first: TRANSFERS }, ana.token));

    const rows = result.transactions.edges.map((edge: { node: { from: { displayName: string }; to: { displayName: string } } }) => edge.node);
    expect(rows).toHaveLength(TRANSFERS);
    expect(rows.filter((row: { from: { displayName: string } }) => row.from.displayName === 'Ana')).toHaveLength(TRANSFERS / 2);
    expect(rows.every((row: { from: { displayName: string }; to: { displayName: string } }) => [row.from.displayName, row.to.displayName].sort().join() === 'Ana,Ben')).toBe(true);
    // The gateway fetches `from` and `to` from the user subgraph (one `_entities` call each, or fewer); per
    // representation that was 2 × 20 statements.
    const userReads = readsOf('users', statements);
    expect(operations).toBeGreaterThanOrEqual(1);
    expect(userReads.length).toBeGreaterThanOrEqual(1);
    expect(userReads.length).toBeLessThanOrEqual(operations);
    console.info(`history of ${TRANSFERS} rows: ${operations} user subgraph fetches, ${userReads.length} users statements`);
  });

  it('resolves a mixed `_entities` fetch with one statement per type, refusing what the caller may not see as before', async () => {
    const ana = await register(stack.gatewayUrl, 'Ana2');
    const ben = await register(stack.gatewayUrl, 'Ben2');
    const wallets = async (person: Person) => (await mustSucceed(/* GraphQL */ `{ me { wallets { id } } }`, {}, person.token)).me.wallets.map((wallet: { id: string }) => wallet.id) as string[];
    const [anaWallets, benWallets] = [await wallets(ana), await wallets(ben)];
    const credential = await new InternalCredential(TEST_SECRETS.GATEWAY_SECRET).mint({ kind: 'gateway', identity: { userId: ana.id, role: 'BUYER' } });
    const representations = [
      { __typename: 'User', id: ana.id },
      { __typename: 'User', id: ben.id },
      { __typename: 'User', id: 'not-a-uuid' },
      { __typename: 'User', id: ben.id.toUpperCase() },
      { __typename: 'User', id: randomUUID() },
      ...anaWallets.map((id) => ({ __typename: 'Wallet', id })),
      ...benWallets.map((id) => ({ __typename: 'Wallet', id })),
      { __typename: 'Wallet', id: 'not-a-uuid' },
    ];
    const query = /* GraphQL */ `query ($representations: [_Any!]!) {
      _entities(representations: $representations) { ... on User { displayName } ... on Wallet { currency } } }`;

    const { result, statements } = await measured(() => postGraphQL(stack.userUrl, query, { representations }, { [INTERNAL_CREDENTIAL_HEADER]: credential }));

    expect(result.errors).toBeUndefined();
    expect(result.data!._entities).toEqual([
      { displayName: 'Ana2' },
      { displayName: 'Ben2' },
      null,
      { displayName: 'Ben2' },
      null,
      { currency: 'USD' },
      { currency: 'ETH' },
      { currency: 'CARBON' },
      null,
      null,
      null,
      null,
    ]);
    expect(readsOf('users', statements)).toHaveLength(1);
    expect(readsOf('wallets', statements)).toHaveLength(1);
  });
});
