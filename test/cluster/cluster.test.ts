/**
 * `npm run start:cluster`'s topology, started the way the fault tests start it: every service its own process, two
 * of each behind HAProxy, a real Kafka broker and PostgreSQL of the cluster's own, free ports, a temporary folder.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, parseConfig } from '../../lib/config.js';
import { clusterConfigSchema } from '../../scripts/cluster/config.js';
import { type Cluster, startCluster } from '../../scripts/cluster/index.js';
import { childProcesses } from '../support/listeners.js';
import { register, TEST_PASSWORD } from '../support/people.js';
import { TEST_RATE_LIMITS } from '../support/rate-limits.js';
import { postGraphQL, TEST_SECRETS } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

/** Twelve service processes, five migrations, Kafka and PostgreSQL on two shared cores. */
const START_TIMEOUT_MS = 240_000;
const STOP_TIMEOUT_MS = 90_000;
const RESTART_TIMEOUT_MS = 60_000;
const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

let cluster: Cluster;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ecocoin-cluster-'));
  cluster = await startCluster({
    replicas: 2,
    dataDir,
    persistent: false,
    ports: 'free',
    env: { ...TEST_SECRETS, ...TEST_RATE_LIMITS, NODE_ENV: 'test', LOG_LEVEL: 'warn' },
    serviceEnv: { price: { PRICE_BACKFILL_DAYS: '1', PRICE_POLL_INTERVAL_MS: '1000' } },
  });
}, START_TIMEOUT_MS);

afterAll(async () => {
  await cluster?.stop();
}, STOP_TIMEOUT_MS);

const ME = /* GraphQL */ `query Me { me { id email } }`;
const LOGIN = /* GraphQL */ `mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id } } }`;

async function me(token: string) {
  return postGraphQL<{ me: { id: string; email: string } }>(cluster.gatewayUrl, ME, {}, { authorization: `Bearer ${token}` });
}

/** ecocoin_graphql_requests_total of one gateway instance, all operations and outcomes together. */
async function requestsAnswered(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('ecocoin_graphql_requests_total{'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('the cluster with two replicas', () => {
  it('answers a mutation and a query through HAProxy, spreading requests over both gateways', async () => {
    const gateways = cluster.instances.gateway;
    const before = await Promise.all(gateways.map((gateway) => requestsAnswered(gateway.metricsUrl)));
    const person = await register(cluster.gatewayUrl, 'Cluster');
    const login = await postGraphQL<{ login: { token: string; user: { id: string } } }>(cluster.gatewayUrl, LOGIN, { email: person.email, password: TEST_PASSWORD });
    expect(login.errors).toBeUndefined();
    expect(login.data?.login.user.id).toBe(person.id);
    for (let request = 0; request < 6; request += 1) {
      const answer = await me(login.data!.login.token);
      expect(answer.data?.me).toEqual({ id: person.id, email: person.email });
    }
    const after = await Promise.all(gateways.map((gateway) => requestsAnswered(gateway.metricsUrl)));
    // Round robin over two gateways: eight requests give each of them some.
    expect(after.map((count, index) => count - before[index]!).every((served) => served >= 2)).toBe(true);
  });

  it('restarts a SIGKILLed subgraph instance while the other one keeps answering', async () => {
    const { token, id } = await register(cluster.gatewayUrl, 'Survivor');
    const victim = cluster.instances.user[0]!;
    const pidBefore = victim.pid();
    expect(pidBefore).toBeTypeOf('number');

    await victim.kill();
    // Every request between the kill and the instance's return goes through; HAProxy retries a refused connection on the other instance.
    const answers: Awaited<ReturnType<typeof me>>[] = [];
    let back = false;
    const healthy = victim.whenHealthy(RESTART_TIMEOUT_MS).then(() => (back = true));
    while (!back) answers.push(await me(token));
    await healthy;

    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((answer) => answer.errors !== undefined || answer.data?.me.id !== id)).toEqual([]);
    expect(victim.restarts()).toBe(1);
    expect(victim.pid()).not.toBe(pidBefore);
    expect(cluster.restartLog()).toEqual([expect.objectContaining({ service: 'user', index: 0, exit: 'signal SIGKILL' })]);
    // And HAProxy takes it back: every instance up again.
    await cluster.whenHealthy(RESTART_TIMEOUT_MS);
  }, RESTART_TIMEOUT_MS * 2);

  it('carries a subscription through the gateway frontend', async () => {
    const { token } = await register(cluster.gatewayUrl, 'Subscriber');
    const client = createClient({ url: cluster.gatewayWsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    try {
      const ticks = client.iterate<{ priceUpdated: { symbol: string; value: string } }>({ query: /* GraphQL */ `subscription { priceUpdated(symbol: MCO2) { symbol value } }` });
      const received: { symbol: string; value: string }[] = [];
      for await (const tick of ticks) {
        expect(tick.errors).toBeUndefined();
        received.push(tick.data!.priceUpdated);
        if (received.length === 2) break;
      }
      expect(received.map((price) => price.symbol)).toEqual(['MCO2', 'MCO2']);
    } finally {
      await client.dispose();
    }
  });

  it('keeps answering after PostgreSQL and then Kafka restart under the services', async () => {
    const { token, id } = await register(cluster.gatewayUrl, 'Restarts');
    await cluster.postgres.restart();
    await waitFor(async () => (await me(token)).data?.me.id === id, { timeoutMs: 30_000, message: 'an answer after PostgreSQL restarted' });
    await cluster.kafka.restart();
    // A tick goes from the price poller through Kafka to the price instance holding the gateway's subscription.
    const client = createClient({ url: cluster.gatewayWsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    try {
      for await (const tick of client.iterate<{ priceUpdated: { symbol: string } }>({ query: /* GraphQL */ `subscription { priceUpdated(symbol: ETH) { symbol } }` })) {
        expect(tick.data?.priceUpdated.symbol).toBe('ETH');
        break;
      }
    } finally {
      await client.dispose();
    }
    expect(cluster.restartLog().map((restart) => restart.service)).toEqual(['user']);
  }, RESTART_TIMEOUT_MS * 2);

  it('stops every process it started and removes its temporary folder', async () => {
    expect(childProcesses().length).toBeGreaterThan(12);
    await cluster.stop();
    expect(Object.values(cluster.instances).flat().filter((instance) => instance.pid() !== undefined)).toEqual([]);
    expect(childProcesses()).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  }, STOP_TIMEOUT_MS);
});

describe('CLUSTER_REPLICAS', () => {
  it.each(['0', '9', '1.5', 'two'])('refuses %s, naming the variable', (value) => {
    expect(() => parseConfig(clusterConfigSchema, { CLUSTER_REPLICAS: value })).toThrow(ConfigError);
    expect(() => parseConfig(clusterConfigSchema, { CLUSTER_REPLICAS: value })).toThrow('CLUSTER_REPLICAS: must be a whole number from 1 to 8');
  });

  it('defaults to one instance of each service', () => {
    expect(parseConfig(clusterConfigSchema, {}).CLUSTER_REPLICAS).toBe(1);
    expect(parseConfig(clusterConfigSchema, { CLUSTER_REPLICAS: '3' }).CLUSTER_REPLICAS).toBe(3);
  });

  it('stops npm run start:cluster before it starts anything, with exit code 1 and the reason', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-cluster.ts'], {
      cwd: repositoryRoot,
      env: { PATH: process.env.PATH ?? '', CLUSTER_REPLICAS: 'lots' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('Invalid configuration:\n  CLUSTER_REPLICAS: must be a whole number from 1 to 8');
  });
});
