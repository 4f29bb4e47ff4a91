import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { InternalCredential, INTERNAL_CREDENTIAL_HEADER } from '../../lib/auth/internal-credential.js';
import { TOPICS } from '../../lib/events/envelope.js';
import { createKafkaTransport } from '../../lib/events/kafka-transport.js';
import type { EventTransport, Subscription } from '../../lib/events/transport.js';
import { silentLogger } from '../../lib/log.js';
import { ensureTopics } from '../../scripts/infra/kafka-broker.js';
import { createTestDatabase } from '../support/database.js';
import { TEST_SECRETS } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const childScript = fileURLToPath(new URL('../support/shutdown-child.ts', import.meta.url));
const brokers = inject('kafkaBrokers').split(',');
const topicPrefix = `shutdown-${randomUUID().slice(0, 8)}.`;
const credential = new InternalCredential(TEST_SECRETS.GATEWAY_SECRET);

let database: { url: string; drop(): Promise<void> };
let transport: EventTransport;
let subscription: Subscription;
/** Labels of the events the children published, as read back from Kafka. */
const published: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('shutdown');
  await ensureTopics(brokers, TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  transport = createKafkaTransport({ brokers, clientId: 'shutdown-test', topicPrefix, log: silentLogger });
  subscription = await transport.subscribe({
    topics: ['wallet.updated'],
    groupId: `${topicPrefix}reader`,
    fromBeginning: true,
    handle: async (envelope) => void published.push(envelope.key),
  });
}, 60_000);

afterAll(async () => {
  await subscription?.close();
  await transport?.close();
  await database?.drop();
});

interface Child {
  process: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

async function startChild(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript], {
    env: {
      ...process.env,
      ...TEST_SECRETS,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: database.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: topicPrefix,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = await waitFor(() => /listening (\S+)/.exec(output)?.[1], { timeoutMs: 30_000, message: 'the child subgraph to listen' });
    return { process: child, url, output: () => output, exited };
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output}`);
  }
}

async function query(url: string, document: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [INTERNAL_CREDENTIAL_HEADER]: await credential.mint({ kind: 'gateway', identity: null }) },
    body: JSON.stringify({ query: document }),
  });
}

describe('SIGTERM', () => {
  it('lets the request in flight finish, publishes what it wrote, disconnects from Kafka and exits 0', async () => {
    // Not NODE_ENV=test: outside it Apollo Server would add signal handlers of its own unless told not to.
    const child = await startChild({ SHUTDOWN_TIMEOUT_MS: '20000', NODE_ENV: 'development' });
    const label = `slow-${randomUUID()}`;
    const answer = query(child.url, `{ slow(label: "${label}") }`);
    await waitFor(() => child.output().includes(`in-flight ${label}`), { timeoutMs: 10_000, message: 'the slow request to be in flight' });
    child.process.kill('SIGTERM');

    const response = await answer;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { slow: label } });
    expect(await child.exited).toBe(0);
    // The event was committed while the server drained; the relay's last pass put it on Kafka before the exit.
    await waitFor(() => published.includes(label), { timeoutMs: 20_000, message: 'the event written during shutdown on Kafka' });
  }, 60_000);

  it('cuts off a request that never ends after half of SHUTDOWN_TIMEOUT_MS, and exits 1 at the bound when something will not stop', async () => {
    const shutdownTimeoutMs = 2_000;
    const child = await startChild({ SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs), STUCK_TASK: 'true' });
    let answeredAfterMs = 0;
    const answer = query(child.url, '{ hang }').then(
      (response) => response.status,
      () => 'connection closed',
    );
    await waitFor(() => child.output().includes('in-flight hang'), { timeoutMs: 10_000, message: 'the hanging request to be in flight' });
    const signalledAtMs = Date.now();
    void answer.then(() => (answeredAfterMs = Date.now() - signalledAtMs));
    child.process.kill('SIGTERM');

    expect(await child.exited).toBe(1);
    const stoppedAfterMs = Date.now() - signalledAtMs;
    expect(await answer).toBe('connection closed');
    expect(answeredAfterMs).toBeGreaterThanOrEqual(shutdownTimeoutMs / 2 - 100);
    expect(stoppedAfterMs).toBeGreaterThanOrEqual(shutdownTimeoutMs - 100);
    expect(stoppedAfterMs).toBeLessThan(shutdownTimeoutMs + 5_000);
    expect(child.output()).toContain(`graceful stop took longer than ${shutdownTimeoutMs} ms`);
  }, 60_000);
});
