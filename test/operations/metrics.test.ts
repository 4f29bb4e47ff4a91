import { randomUUID } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { TOPICS } from '../../lib/events/envelope.js';
import { silentLogger } from '../../lib/log.js';
import { OPERATION_NAMES_MAX, ServiceMetrics } from '../../lib/server/metrics.js';
import { ensureTopics } from '../../scripts/infra/kafka-broker.js';
import { register } from '../support/people.js';
import { type ServiceName, type Stack, startStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const brokers = inject('kafkaBrokers').split(',');
const topicPrefix = `metrics-${randomUUID().slice(0, 8)}.`;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, name, value]) => [name as string, value as string]));
      return { name: match[1] as string, labels, value: Number(match[3]) };
    });
}

async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parseExposition(await response.text());
}

/** The value of the one sample with this name and (at least) these labels; 0 when there is none yet. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string | RegExp>): number {
  const found = samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([label, want]) => (typeof want === 'string' ? sample.labels[label] === want : want.test(sample.labels[label] ?? ''))),
  );
  return found.reduce((sum, sample) => sum + sample.value, 0);
}

let stack: Stack;
const clients: Client[] = [];
const metricsUrlOf = (subgraph: ServiceName) => new URL('/metrics', stack.subgraphs[subgraph]!.url).toString();

beforeAll(async () => {
  await ensureTopics(brokers, TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  stack = await startStack({
    services: ['user', 'price', 'transaction', 'notification'],
    env: { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: topicPrefix },
    serviceEnv: { price: { PRICE_BACKFILL_DAYS: '1' } },
  });
}, 120_000);

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await stack?.stop();
});

describe('/metrics', () => {
  it('counts and times GraphQL requests at the gateway and the subgraph by operation name and outcome', async () => {
    const before = await scrape(stack.gateway.metricsUrl);
    const priceBefore = await scrape(metricsUrlOf('price'));
    for (let index = 0; index < 3; index += 1) {
      const answer = await stack.graphql(/* GraphQL */ `query PriceNow { price(symbol: MCO2) { value } }`);
      expect(answer.errors).toBeUndefined();
    }
    const refused = await stack.graphql(/* GraphQL */ `query WhoAmI { me { id } }`);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const invalid = await stack.graphql(/* GraphQL */ `query Broken { noSuchField }`);
    expect(invalid.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const after = await scrape(stack.gateway.metricsUrl);
    const moved = (name: string, labels: Record<string, string | RegExp>, samplesBefore = before, samplesAfter = after) =>
      valueOf(samplesAfter, name, labels) - valueOf(samplesBefore, name, labels);
    expect(moved('ecocoin_graphql_requests_total', { service: 'gateway', operation: 'PriceNow', outcome: 'success' })).toBe(3);
    expect(moved('ecocoin_graphql_request_duration_seconds_count', { service: 'gateway', operation: 'PriceNow', outcome: 'success' })).toBe(3);
    expect(moved('ecocoin_graphql_request_duration_seconds_bucket', { service: 'gateway', operation: 'PriceNow', outcome: 'success', le: '+Inf' })).toBe(3);
    expect(moved('ecocoin_graphql_requests_total', { service: 'gateway', operation: 'WhoAmI', outcome: 'client_error' })).toBe(1);
    expect(moved('ecocoin_graphql_requests_total', { service: 'gateway', operation: '(invalid)', outcome: 'client_error' })).toBe(1);
    expect(moved('ecocoin_gateway_subgraph_fetch_duration_seconds_count', { service: 'gateway', subgraph: 'price', outcome: '2xx' })).toBeGreaterThanOrEqual(3);

    // The gateway names its subgraph fetches after the client's operation (e.g. PriceNow__price__0).
    const priceAfter = await scrape(metricsUrlOf('price'));
    expect(moved('ecocoin_graphql_requests_total', { service: 'price', operation: /^PriceNow__price/, outcome: 'success' }, priceBefore, priceAfter)).toBe(3);
    // Node's own metrics come with every scrape.
    expect(valueOf(after, 'process_cpu_user_seconds_total', {})).toBeGreaterThan(0);
    expect(after.some((sample) => sample.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('shows the outbox backlog and the consumer lag of each subgraph', async () => {
    const user = await scrape(metricsUrlOf('user'));
    expect(user.filter((sample) => sample.name === 'ecocoin_outbox_unsent_events').map((sample) => sample.labels)).toEqual([{ service: 'user' }]);
    expect(user.some((sample) => sample.name === 'ecocoin_outbox_oldest_unsent_age_seconds')).toBe(true);
    // The notification subgraph's durable consumer reads four topics; its lag is read from Kafka at scrape time.
    const notification = await waitFor(
      async () => {
        const samples = await scrape(metricsUrlOf('notification'));
        const lag = samples.filter((sample) => sample.name === 'ecocoin_consumer_lag_messages' && !sample.labels.group?.includes('.live.'));
        return lag.length >= 4 && lag;
      },
      { timeoutMs: 10_000, message: "the notification consumer's lag on each of its topics" },
    );
    expect(new Set(notification.map((sample) => sample.labels.topic))).toEqual(new Set(['transaction.status', 'wallet.updated', 'price.updated', 'blockchain.event']));
    for (const sample of notification) expect(sample.value).toBeGreaterThanOrEqual(0);
    // Other services' consumers are not this service's business.
    expect(notification.every((sample) => sample.labels.service === 'notification')).toBe(true);
  });

  it('counts open subscriptions at the gateway', async () => {
    const { token } = await register(stack.gatewayUrl, 'Metrics');
    const client = createClient({ url: stack.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` } });
    clients.push(client);
    const events = client.iterate({ query: /* GraphQL */ `subscription { walletUpdated { currency balance } }` });
    void events.next();
    await waitFor(
      async () => {
        const samples = await scrape(stack.gateway.metricsUrl);
        return valueOf(samples, 'ecocoin_gateway_subscription_upstreams', {}) >= 1 && valueOf(samples, 'ecocoin_gateway_websocket_connections', {}) >= 1;
      },
      { timeoutMs: 10_000, message: 'the subscription and its socket in the gateway gauges' },
    );
    await events.return?.();
  });

  it('is not served on the public port of the gateway, and needs no credential on a subgraph port', async () => {
    expect((await fetch(new URL('/metrics', stack.gatewayUrl))).status).toBe(404);
    expect(new URL(stack.gateway.metricsUrl).port).not.toBe(new URL(stack.gatewayUrl).port);
    expect((await fetch(metricsUrlOf('transaction'))).status).toBe(200);
    expect((await fetch(stack.subgraphs.transaction!.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' })).status).toBe(401);
  });
});

describe('operation labels', () => {
  it('stop growing past the limit: later names are counted as (other)', () => {
    const metrics = new ServiceMetrics('labels-test', silentLogger);
    for (let index = 0; index < OPERATION_NAMES_MAX; index += 1) expect(metrics.operationLabel(`Op${index}`)).toBe(`Op${index}`);
    expect(metrics.operationLabel('OneTooMany')).toBe('(other)');
    expect(metrics.operationLabel('Op0')).toBe('Op0');
    expect(metrics.operationLabel(null)).toBe('(anonymous)');
    expect(metrics.operationLabel('x'.repeat(101))).toBe('(other)');
  });
});
