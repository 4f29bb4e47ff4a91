/**
 * Tests run beside `npm start` on the same machine: with the ports it serves on taken (the gateway's 4000 and
 * metrics 9400, the subgraphs' 4001-4005, anvil's 8545), a stack and a second gateway still start, each on
 * free ports of its own, and answer. (A fresh clone's test run once failed with EADDRINUSE 127.0.0.1:9400.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/server.js';
import { type Occupied, occupy, release } from '../support/listeners.js';
import { type Stack, startStack } from '../support/stack.js';

const NPM_START_PORTS = [4000, 4001, 4002, 4003, 4004, 4005, 8545, 9400];

let occupied: Occupied | undefined;
let stack: Stack;
let second: RunningGateway | undefined;

beforeAll(async () => {
  occupied = await occupy(NPM_START_PORTS);
  stack = await startStack({ services: ['user', 'price'], chain: true });
}, 60_000);
afterAll(async () => {
  await second?.stop();
  await stack?.stop();
  await release(occupied);
});

const portOf = (url: string) => Number(new URL(url).port);

describe('a test stack while the default ports are taken', () => {
  it('puts the gateway, its metrics, the subgraphs and anvil on other ports, and they answer', async () => {
    const ports = [stack.gatewayUrl, stack.gateway.metricsUrl, stack.subgraphs.user!.url, stack.subgraphs.price!.url, stack.chain.rpcUrl].map(portOf);
    for (const port of ports) expect(NPM_START_PORTS).not.toContain(port);
    const price = await stack.graphql(/* GraphQL */ `{ price(symbol: MCO2) { symbol } }`);
    expect(price.errors).toBeUndefined();
    expect(price.data?.price.symbol).toBe('MCO2');
    expect((await fetch(stack.gateway.metricsUrl)).status).toBe(200);
  });

  it('starts a second gateway on free ports even when a test asks for the default ones', async () => {
    second = await stack.startGateway({ PORT: '4000', METRICS_PORT: '9400' });
    expect(NPM_START_PORTS).not.toContain(portOf(second.url));
    expect(NPM_START_PORTS).not.toContain(portOf(second.metricsUrl));
    expect((await fetch(second.metricsUrl)).status).toBe(200);
  });

  it('answers UPSTREAM_UNAVAILABLE for a subgraph it did not start, rather than reaching whatever serves its default port', async () => {
    const result = await stack.graphql(/* GraphQL */ `{ chainTransaction(id: "1") { id } }`);
    expect(result.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('sent nothing to the ports it found taken', () => {
    expect(occupied?.requests).toEqual([]);
  });
});
