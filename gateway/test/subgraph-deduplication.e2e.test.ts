import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_CREDENTIAL_HEADER } from '../../lib/auth/internal-credential.js';
import { subgraphUrlVariable } from '../src/config.js';
import type { RunningGateway } from '../src/server.js';
import { type HeldSubgraph, heldSubgraph } from '../../test/support/held-subgraph.js';
import { type Person, register } from '../../test/support/people.js';
import { type GraphQLResult, postGraphQL, type ServiceName, type Stack, startStack } from '../../test/support/stack.js';
import { waitFor } from '../../test/support/wait.js';

const WALLETS = /* GraphQL */ `{ me { id wallets { currency balance } } }`;
const PRICE = /* GraphQL */ `{ price(symbol: MCO2) { symbol } }`;
const MARK_READ = /* GraphQL */ `mutation { markNotificationsRead(ids: []) }`;

let stack: Stack;
let ann: Person;
let bob: Person;
const running: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  stack = await startStack({ services: ['user', 'price', 'notification'] });
  ann = await register(stack.gatewayUrl, 'Ann');
  bob = await register(stack.gatewayUrl, 'Bob');
}, 60_000);

afterEach(async () => {
  for (const part of running.splice(0).reverse()) await part.stop();
});

afterAll(async () => {
  await stack?.stop();
});

/** A gateway of its own whose fetches to `service` go through a held subgraph in front of the real one. */
async function gatewayThroughHeld(service: ServiceName, env: Record<string, string> = {}): Promise<{ held: HeldSubgraph; gateway: RunningGateway }> {
  const held = await heldSubgraph(stack.subgraphs[service]!.url);
  running.push(held);
  const gateway = await stack.startGateway({ [subgraphUrlVariable(service)]: held.url, ...env });
  running.push(gateway);
  return { held, gateway };
}

async function deduplicated(gateway: RunningGateway, service: ServiceName): Promise<number> {
  const text = await (await fetch(gateway.metricsUrl)).text();
  const line = text.match(new RegExp(`^ecocoin_gateway_subgraph_fetches_deduplicated_total\\{[^}]*subgraph="${service}"[^}]*\\} (\\d+)$`, 'm'));
  return Number(line?.[1] ?? 0);
}

const ask = (gateway: RunningGateway, query: string, person?: Person) => postGraphQL(gateway.url, query, {}, person ? { authorization: `Bearer ${person.token}` } : {});

/**
 * Sends the requests at once while `service` holds every fetch, waits until each has either reached it or joined
 * one that has, then lets the subgraph answer (or fail) and returns the answers.
 */
async function allInFlight(setup: { held: HeldSubgraph; gateway: RunningGateway }, service: ServiceName, requests: (() => Promise<GraphQLResult>)[], release?: Parameters<HeldSubgraph['release']>[0]): Promise<GraphQLResult[]> {
  const { held, gateway } = setup;
  held.hold();
  const answers = requests.map((request) => request());
  await waitFor(async () => held.received.length + (await deduplicated(gateway, service)) === requests.length, { timeoutMs: 10_000, message: `${requests.length} requests in flight at ${service}` });
  held.release(release);
  return Promise.all(answers);
}

const times = <T>(count: number, make: () => T): T[] => Array.from({ length: count }, make);

describe('identical subgraph queries in flight at the same moment, through the gateway', () => {
  it('makes one user subgraph request for ten identical `me { wallets }` of one user', async () => {
    const setup = await gatewayThroughHeld('user');
    // The first request mints the user's credential and confirms the account; these are the ten that follow.
    const alone = await ask(setup.gateway, WALLETS, ann);
    expect(alone.data?.me).toMatchObject({ id: ann.id, wallets: [{ currency: 'USD' }, { currency: 'ETH' }, { currency: 'CARBON' }] });
    const answers = await allInFlight(setup, 'user', times(10, () => () => ask(setup.gateway, WALLETS, ann)));
    expect(setup.held.received).toHaveLength(1);
    expect(await deduplicated(setup.gateway, 'user')).toBe(9);
    expect(answers).toEqual(times(10, () => alone));
  });

  it('never shares between two users: each gets only their own data, from a request of their own', async () => {
    const setup = await gatewayThroughHeld('user');
    for (const person of [ann, bob]) await ask(setup.gateway, WALLETS, person);
    const people = [ann, bob, ann, bob, ann, bob, ann, bob];
    const answers = await allInFlight(setup, 'user', people.map((person) => () => ask(setup.gateway, WALLETS, person)));
    expect(setup.held.received).toHaveLength(2);
    expect(new Set(setup.held.received.map(({ headers }) => headers[INTERNAL_CREDENTIAL_HEADER])).size).toBe(2);
    expect(answers.map((answer) => answer.data?.me.id)).toEqual(people.map((person) => person.id));
  });

  it('makes one price subgraph request for many anonymous callers of `price(symbol: MCO2)`', async () => {
    const setup = await gatewayThroughHeld('price');
    await ask(setup.gateway, PRICE);
    const answers = await allInFlight(setup, 'price', times(10, () => () => ask(setup.gateway, PRICE)));
    expect(setup.held.received).toHaveLength(1);
    expect(answers.map((answer) => answer.data)).toEqual(times(10, () => ({ price: { symbol: 'MCO2' } })));
  });

  it('makes every request when SUBGRAPH_DEDUPLICATION=off', async () => {
    const setup = await gatewayThroughHeld('user', { SUBGRAPH_DEDUPLICATION: 'off' });
    await ask(setup.gateway, WALLETS, ann);
    const answers = await allInFlight(setup, 'user', times(5, () => () => ask(setup.gateway, WALLETS, ann)));
    expect(setup.held.received).toHaveLength(5);
    expect(await deduplicated(setup.gateway, 'user')).toBe(0);
    expect(answers.map((answer) => answer.data?.me.id)).toEqual(times(5, () => ann.id));
  });

  it('never shares identical mutations sent at the same moment', async () => {
    const setup = await gatewayThroughHeld('notification');
    const answers = await allInFlight(setup, 'notification', times(2, () => () => ask(setup.gateway, MARK_READ, ann)));
    expect(setup.held.received).toHaveLength(2);
    expect(answers.map((answer) => answer.data)).toEqual([{ markNotificationsRead: 0 }, { markNotificationsRead: 0 }]);
  });

  it('gives every caller sharing a failed request UPSTREAM_UNAVAILABLE', async () => {
    const setup = await gatewayThroughHeld('price');
    await ask(setup.gateway, PRICE);
    const answers = await allInFlight(setup, 'price', times(5, () => () => ask(setup.gateway, PRICE)), { status: 503, body: '{}' });
    expect(setup.held.received).toHaveLength(1);
    expect(answers.map((answer) => answer.errors?.map((error) => error.extensions?.code))).toEqual(times(5, () => ['UPSTREAM_UNAVAILABLE']));
  });
});
