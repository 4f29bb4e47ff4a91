import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createGatewayRuntime, type GatewayRuntime, Logger, type LogLevel } from '@graphql-hive/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import { gatewayConfigSchema } from '../../gateway/src/config.js';
import { readSupergraph, subgraphsOf } from '../../gateway/src/supergraph.js';
import { internalCredentialHeaders, supergraphRoutedTo } from '../../scripts/infra/hive-gateway.js';
import { freePort } from '../../scripts/infra/ports.js';
import { type Person, register } from '../support/people.js';
import { type GraphQLResult, postGraphQL, type ServiceName, type Stack, startStack, TEST_SECRETS } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

/**
 * The committed supergraph is a plain Federation 2 supergraph, not something only @apollo/gateway can run:
 * The Guild's Hive Gateway serves it as it is and answers what our own gateway answers.
 */

interface HiveLogLine {
  level: LogLevel;
  msg: string | null | undefined;
  attrs: unknown;
}

/** Everything Hive Gateway logged, debug and up: proof the capture is wired, and that none of it is a warning or an error. */
const hiveLog: HiveLogLine[] = [];
let stack: Stack;
let hive: { url: string; runtime: GatewayRuntime; server: Server };

/**
 * Hive Gateway in this process, on a free port. Our subgraphs answer only a signed internal credential
 * (lib/auth/internal-credential.ts); Hive sends the one our gateway sends, minted by the same code from the
 * caller's verified bearer token, and never the client's own headers.
 */
async function startHiveGateway(supergraphSdl: string): Promise<typeof hive> {
  const config = parseConfig(gatewayConfigSchema, { ...TEST_SECRETS, NODE_ENV: 'test' });
  const runtime = createGatewayRuntime({
    supergraph: supergraphSdl,
    logging: new Logger({ level: 'debug', writers: [{ write: (level, attrs, msg) => void hiveLog.push({ level, attrs, msg }) }] }),
    propagateHeaders: internalCredentialHeaders(config),
  });
  // The supergraph is loaded on first use; asking for the schema now makes any complaint about it show at start.
  await runtime.getSchema();
  const port = await freePort();
  const server = createServer(runtime);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { url: `http://127.0.0.1:${port}/graphql`, runtime, server };
}

async function stopHiveGateway(): Promise<void> {
  if (!hive) return;
  await new Promise<void>((resolve, reject) => hive.server.close((error) => (error ? reject(error) : resolve())));
  await hive.runtime.dispose();
}

const warningsAndErrors = () => hiveLog.filter((line) => line.level === 'warn' || line.level === 'error');

beforeAll(async () => {
  // One price observation for the whole file, so both gateways are asked about the same one.
  stack = await startStack({ serviceEnv: { transaction: { DEV_FAUCET: 'true' }, price: { PRICE_POLL_INTERVAL_MS: '3600000', PRICE_BACKFILL_DAYS: '1' } } });
  hive = await startHiveGateway(supergraphRoutedTo((name) => stack.subgraphs[name as ServiceName]?.url));
}, 80_000);

afterAll(async () => {
  await stopHiveGateway();
  await stack?.stop();
});

/** The same document through both gateways, with the same caller. */
async function throughBoth(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<{ ours: GraphQLResult; hive: GraphQLResult }> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const [ours, theirs] = await Promise.all([postGraphQL(stack.gatewayUrl, query, variables, headers), postGraphQL(hive.url, query, variables, headers)]);
  return { ours, hive: theirs };
}

const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { id type status amount currency } }`;
const TRANSFER = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status from { displayName } to { displayName } } }`;
const ME_AND_HISTORY = /* GraphQL */ `
  query {
    me {
      id
      displayName
      wallets { currency balance }
      transactions(first: 10) { edges { node { id type status currency amount memo from { id displayName } to { id displayName } } } }
    }
  }
`;

describe('Hive Gateway over the committed supergraph', () => {
  it('loads the supergraph without a warning or an error', () => {
    expect(subgraphsOf(supergraphRoutedTo((name) => stack.subgraphs[name as ServiceName]?.url)).map(({ name }) => name)).toEqual(subgraphsOf(readSupergraph()).map(({ name }) => name));
    expect(hiveLog.map(({ msg }) => msg)).toContain('Initial Supergraph fetched');
    expect(warningsAndErrors()).toEqual([]);
  });

  it('answers a one-subgraph query as our gateway does', async () => {
    const query = /* GraphQL */ `{ price(symbol: MCO2) { symbol vs value source observedAt stale } }`;
    await waitFor(async () => (await postGraphQL(stack.gatewayUrl, query)).data?.price, { timeoutMs: 20_000, message: 'the first MCO2 price' });
    const answers = await throughBoth(query);
    expect(answers.hive.errors).toBeUndefined();
    expect(answers.ours.errors).toBeUndefined();
    expect(answers.hive.data).toEqual(answers.ours.data);
    expect(answers.hive.data?.price).toMatchObject({ symbol: 'MCO2', vs: 'USD' });
  });

  describe('for two people after a transfer', () => {
    let alice: Person;
    let bob: Person;

    beforeAll(async () => {
      [alice, bob] = await Promise.all([register(stack.gatewayUrl, 'Alice Hive'), register(stack.gatewayUrl, 'Bob Hive')]);
    });

    it('runs mutations through Hive Gateway that our gateway then sees', async () => {
      const deposit = await postGraphQL(hive.url, DEPOSIT, { input: { userId: alice.id, currency: 'USD', amount: '100.00' }, key: randomUUID() }, { authorization: `Bearer ${alice.token}` });
      expect(deposit.errors).toBeUndefined();
      expect(deposit.data?.deposit).toMatchObject({ type: 'DEPOSIT', status: 'COMPLETED', amount: '100.00', currency: 'USD' });

      const transfer = await postGraphQL(hive.url, TRANSFER, { input: { to: bob.email, currency: 'USD', amount: '25.00', memo: 'through Hive' }, key: randomUUID() }, { authorization: `Bearer ${alice.token}` });
      expect(transfer.errors).toBeUndefined();
      expect(transfer.data?.transfer).toMatchObject({ from: { displayName: 'Alice Hive' }, to: { displayName: 'Bob Hive' } });

      const transferId = transfer.data!.transfer.id as string;
      const completed = await waitFor(
        async () => {
          const { data } = await stack.graphql(/* GraphQL */ `query ($id: ID!) { transaction(id: $id) { status } }`, { id: transferId }, bob.token);
          return data?.transaction?.status === 'COMPLETED' && data.transaction.status;
        },
        { timeoutMs: 15_000, message: 'the transfer made through Hive Gateway to complete' },
      );
      expect(completed).toBe('COMPLETED');
    });

    it('answers a signed-in query across subgraphs as our gateway does, for each party', async () => {
      for (const person of [alice, bob]) {
        const answers = await throughBoth(ME_AND_HISTORY, {}, person.token);
        expect(answers.hive.errors).toBeUndefined();
        expect(answers.ours.errors).toBeUndefined();
        expect(answers.hive.data).toEqual(answers.ours.data);
      }
      const bobs = (await throughBoth(ME_AND_HISTORY, {}, bob.token)).hive.data!.me;
      expect(bobs.wallets).toContainEqual({ currency: 'USD', balance: '25.00' });
      expect(bobs.transactions.edges.map(({ node }: { node: Record<string, unknown> }) => node)).toContainEqual(
        expect.objectContaining({ type: 'TRANSFER', memo: 'through Hive', from: { id: alice.id, displayName: 'Alice Hive' }, to: { id: bob.id, displayName: 'Bob Hive' } }),
      );
    });

    it('sends no identity for an anonymous caller, so a subgraph refuses `me` as it does behind our gateway', async () => {
      const answers = await throughBoth(/* GraphQL */ `{ me { id } }`);
      expect(answers.ours.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(answers.hive.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  it('logged no warning or error while it served all of the above', () => {
    expect(warningsAndErrors()).toEqual([]);
  });
});
