import { randomUUID } from 'node:crypto';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TOPICS } from '../../lib/events/envelope.js';
import { createLogger } from '../../lib/log.js';
import { ensureTopics } from '../../scripts/infra/kafka-broker.js';
import { register as registerPerson } from '../support/people.js';
import { type Stack, startStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const brokers = inject('kafkaBrokers').split(',');
const topicPrefix = `request-id-${randomUUID().slice(0, 8)}.`;

interface LogLine {
  name: string;
  msg: string;
  requestId?: string;
  [field: string]: unknown;
}

interface KafkaMessage {
  topic: string;
  headers: Record<string, string>;
  data: Record<string, unknown>;
}

/** Every line every process logged, parsed: pino writes to this capture instead of stdout. */
const logLines: LogLine[] = [];
const messages: KafkaMessage[] = [];
let stack: Stack;
let consumer: Consumer;

beforeAll(async () => {
  await ensureTopics(brokers, TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  stack = await startStack({
    // The notification subgraph is the consumer that logs the events under the request that caused them.
    services: ['user', 'price', 'transaction', 'notification'],
    env: { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: topicPrefix },
    serviceEnv: { transaction: { DEV_FAUCET: 'true' }, price: { PRICE_BACKFILL_DAYS: '1' } },
    logFor: (service) => createLogger(service, 'debug', { write: (line: string) => void logLines.push(JSON.parse(line) as LogLine) }),
  });
  // Read the topics with plain kafkajs, so the test sees the headers exactly as they are on the wire.
  consumer = new Kafka({ clientId: 'request-id-test', brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `${topicPrefix}headers` });
  await consumer.connect();
  await consumer.subscribe({ topics: [`${topicPrefix}transaction.status`, `${topicPrefix}wallet.updated`], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]));
      const envelope = JSON.parse(String(message.value)) as { data: Record<string, unknown> };
      messages.push({ topic: topic.slice(topicPrefix.length), headers, data: envelope.data });
    },
  });
}, 120_000);

afterAll(async () => {
  await consumer?.disconnect();
  await stack?.stop();
});

const register = () => registerPerson(stack.gatewayUrl, 'Trace');

async function post(body: unknown, headers: Record<string, string>): Promise<{ requestId: string | null; body: any }> {
  const response = await fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { requestId: response.headers.get('x-request-id'), body: await response.json() };
}

describe('request ids', () => {
  it('follow a request from the gateway into subgraph logs, internal calls and the Kafka headers of its events', async () => {
    const buyer = await register();
    const requestId = `trace-${randomUUID()}`;
    const answer = await post(
      {
        query: /* GraphQL */ `mutation Deposit($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { id status } }`,
        variables: { input: { userId: buyer.id, currency: 'USD', amount: '25.00' }, key: `dep-${requestId}` },
      },
      { authorization: `Bearer ${buyer.token}`, 'x-request-id': requestId },
    );
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data.deposit.status).toBe('COMPLETED');
    expect(answer.requestId).toBe(requestId);
    const transactionId = answer.body.data.deposit.id as string;

    // transaction.status is written by the transaction subgraph serving the request; wallet.updated by the
    // user subgraph serving the transaction subgraph's internal posting call, which carried the id on.
    const status = await waitFor(() => messages.find((message) => message.topic === 'transaction.status' && message.data.transactionId === transactionId), {
      timeoutMs: 20_000,
      message: 'the transaction.status event of the deposit on Kafka',
    });
    const wallet = await waitFor(() => messages.find((message) => message.topic === 'wallet.updated' && message.data.postingId === transactionId), {
      timeoutMs: 20_000,
      message: 'the wallet.updated event of the deposit on Kafka',
    });
    expect(status.headers['request-id']).toBe(requestId);
    expect(wallet.headers['request-id']).toBe(requestId);

    const lines = () => logLines.filter((line) => line.requestId === requestId);
    // The notification subgraph consumes both events from Kafka and logs them under the request that caused them:
    // the deposit's notice applied, the wallet update (not emptied) skipped as having no effect there.
    const consumed = (msg: string) => lines().filter((line) => line.name === 'notification' && line.msg === msg).length;
    await waitFor(() => consumed('event applied') >= 1 && consumed('event has no effect here; skipped') >= 1, {
      timeoutMs: 20_000,
      message: 'the notification consumer logging both events with the request id',
    });
    const seen = new Set(lines().map((line) => `${line.name}: ${line.msg}`));
    expect(seen).toContain('gateway: graphql request');
    expect(seen).toContain('transaction: graphql request');
    expect(seen).toContain('user: internal request');
    expect(lines().find((line) => line.name === 'transaction' && line.msg === 'graphql request')).toMatchObject({ operation: expect.stringContaining('Deposit'), outcome: 'success' });
  }, 60_000);

  it('are made by the gateway when the client sends none, or one that is not a short safe token', async () => {
    const query = { query: /* GraphQL */ `query { price(symbol: MCO2) { value } }` };
    const made = await post(query, {});
    const refused = await post(query, { 'x-request-id': 'no spaces or "quotes" please' });
    const tooLong = await post(query, { 'x-request-id': 'a'.repeat(101) });
    const kept = await post(query, { 'x-request-id': 'client-42.retry:1' });
    for (const answer of [made, refused, tooLong]) expect(answer.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(kept.requestId).toBe('client-42.retry:1');
    expect(new Set([made.requestId, refused.requestId, tooLong.requestId]).size).toBe(3);
    // The made id is the one the price subgraph logged the request under.
    await waitFor(() => logLines.some((line) => line.name === 'price' && line.requestId === made.requestId && line.msg === 'graphql request'), {
      timeoutMs: 5_000,
      message: "the price subgraph's log line for the request under the gateway's id",
    });
  });
});
