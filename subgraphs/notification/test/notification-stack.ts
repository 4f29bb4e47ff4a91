import { randomUUID } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { type Envelope, TOPICS } from '../../../lib/events/envelope.js';
import { createKafkaTransport } from '../../../lib/events/kafka-transport.js';
import type { EventTransport } from '../../../lib/events/transport.js';
import { silentLogger } from '../../../lib/log.js';
import { ensureTopics } from '../../../scripts/infra/kafka-broker.js';
import { register } from '../../../test/support/people.js';
import { type Stack, type StackOptions, startStack } from '../../../test/support/stack.js';

export const ADMIN = { email: 'notification-admin@example.com', password: 'notification admin password' };

export interface Person {
  id: string;
  token: string;
  email: string;
}

export interface SubscriptionMessage<Data> {
  data?: Data | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

/**
 * Every subgraph but the blockchain one (the tests make the chain's events themselves), without a chain, on a
 * real Kafka broker, with topics of this test file's own (a prefix), so files running side by side never see
 * each other's events; and a producer of its own for events the test makes up.
 */
export class NotificationStack {
  readonly topicPrefix: string;
  readonly brokers = inject('kafkaBrokers').split(',');
  stack!: Stack;
  adminToken!: string;
  #publisher: EventTransport | null = null;
  readonly #clients: Client[] = [];

  constructor(label: string) {
    this.topicPrefix = `${label}-${randomUUID().slice(0, 8)}.`;
  }

  /** Kafka settings every process of the stack runs with. */
  get kafkaEnv() {
    return { KAFKA_BROKERS: this.brokers.join(','), KAFKA_TOPIC_PREFIX: this.topicPrefix };
  }

  async start(options: { notificationEnv?: Record<string, string>; external?: StackOptions['external'] } = {}): Promise<this> {
    await ensureTopics(this.brokers, TOPICS.map((topic) => `${this.topicPrefix}${topic}`), 3);
    this.stack = await startStack({
      services: ['user', 'price', 'transaction', 'notification'],
      env: this.kafkaEnv,
      serviceEnv: {
        user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
        price: { PRICE_BACKFILL_DAYS: '1' },
        notification: options.notificationEnv ?? {},
      },
      external: options.external,
    });
    const login = await this.stack.graphql(/* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN);
    this.adminToken = login.data!.login.token;
    return this;
  }

  async stop(): Promise<void> {
    for (const client of this.#clients) await client.dispose();
    await this.#publisher?.close();
    await this.stack?.stop();
  }

  /** Publishes envelopes as another service would: through the Kafka transport, to this file's topics. */
  async publish(envelopes: Envelope[]): Promise<void> {
    this.#publisher ??= createKafkaTransport({ brokers: this.brokers, clientId: 'notification-test', topicPrefix: this.topicPrefix, log: silentLogger });
    await this.#publisher.publish(envelopes);
  }

  graphql<Data = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, token?: string) {
    return this.stack.graphql<Data>(query, variables, token);
  }

  async person(name: string): Promise<Person> {
    return register(this.stack.gatewayUrl, name);
  }

  async deposit(to: Person, amount: string, currency = 'USD') {
    const result = await this.graphql(
      /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { id status } }`,
      { input: { userId: to.id, currency, amount }, key: randomUUID() },
      this.adminToken,
    );
    if (result.data?.deposit?.status !== 'COMPLETED') throw new Error(`deposit failed: ${JSON.stringify(result.errors)}`);
    return result.data.deposit as { id: string };
  }

  transfer(from: Person, to: Person, amount: string) {
    return this.graphql(
      /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status } }`,
      { input: { to: to.id, currency: 'USD', amount }, key: randomUUID() },
      from.token,
    );
  }

  /** A GraphQL subscription through the gateway over a real WebSocket; resolves once the socket is connected. */
  async subscribe<Data>(token: string, query: string): Promise<SubscriptionMessage<Data>[]> {
    const received: SubscriptionMessage<Data>[] = [];
    const client = createClient({
      url: this.stack.gatewayUrl.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    client.on('error', () => {});
    this.#clients.push(client);
    const connected = new Promise<void>((resolve) => client.on('connected', () => resolve()));
    client.subscribe<Data>(
      { query },
      {
        next: (message) => void received.push(message),
        error: (error) => void received.push({ errors: Array.isArray(error) ? error : [{ message: String(error) }] }),
        complete: () => {},
      },
    );
    await connected;
    return received;
  }
}

export const NOTIFICATIONS = /* GraphQL */ `query ($first: Int!, $after: String, $unreadOnly: Boolean) {
  notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
    edges { cursor node { id kind title body data readAt createdAt } }
    pageInfo { hasNextPage endCursor }
  }
  unreadNotificationCount
}`;

export interface NotificationNode {
  id: string;
  kind: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  readAt: string | null;
  createdAt: string;
}

/** Someone's newest notifications (up to 100) and their unread count, through the gateway. */
export async function notificationsOf(stack: NotificationStack, who: Person, variables: { first?: number; after?: string; unreadOnly?: boolean } = {}) {
  const result = await stack.graphql(NOTIFICATIONS, { first: 100, ...variables }, who.token);
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return {
    nodes: result.data!.notifications.edges.map((edge: { node: NotificationNode }) => edge.node) as NotificationNode[],
    pageInfo: result.data!.notifications.pageInfo as { hasNextPage: boolean; endCursor: string | null },
    unread: result.data!.unreadNotificationCount as number,
  };
}
