/**
 * The three places a completed transaction has an effect outside the ledger, each counted per transaction id
 * so a check can say how many were lost and how many doubled: the notification subgraph's rows, the items
 * of each customer's `transactionFeed` subscription, and the POSTs to each customer's webhook.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Client, createClient } from 'graphql-ws';
import postgres from 'postgres';
import WebSocket from 'ws';
import type { GraphQLResult } from './stack.js';

/** The notices that tell a party a transaction completed; WALLET_EMPTY and chain certificates come on top. */
export const COMPLETION_NOTICE_KINDS = ['FUNDS_RECEIVED', 'TRANSACTION_COMPLETED'] as const;

const countInto = (counts: Map<string, number>, id: string) => counts.set(id, (counts.get(id) ?? 0) + 1);

// ---- notifications, straight from the notification subgraph's database ----

export async function countCompletionNotices(databaseUrl: string): Promise<Map<string, number>> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ transaction_id: string; count: number }[]>`
      select transaction_id, count(*)::int as count from notifications
      where transaction_id is not null and kind in ${sql(COMPLETION_NOTICE_KINDS)} group by transaction_id`;
    return new Map(rows.map((row) => [row.transaction_id, row.count]));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

// ---- webhooks: a receiver on loopback, one registered URL per customer ----

const REGISTER_WEBHOOK = /* GraphQL */ `mutation ($url: String!) { registerWebhook(url: $url) { id secret } }`;
/** Deliveries older than this are refused by a careful receiver; here a stale one is counted as a violation. */
const SIGNATURE_AGE_MAX_SECONDS = 600;

export class WebhookReceiver {
  /** Distinct delivery ids per transaction, for completion notices only. */
  readonly deliveriesByTransaction = new Map<string, Set<string>>();
  /** Every POST of every delivery id: more than one is a redelivery the receiver must ignore. */
  readonly postsByDelivery = new Map<string, number>();
  readonly badSignatures: string[] = [];
  readonly #secrets = new Map<string, string>();
  #server: Server | null = null;
  #url = '';

  async start(): Promise<void> {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.#receive(request.url ?? '', request.headers, Buffer.concat(chunks).toString('utf8'));
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Registers a webhook for the customer whose token this is, at a path of its own so its secret is known. */
  async register(graphql: (query: string, variables: Record<string, unknown>, token?: string) => Promise<GraphQLResult>, userId: string, token: string): Promise<void> {
    const result = await graphql(REGISTER_WEBHOOK, { url: `${this.#url}/hooks/${userId}` }, token);
    const registration = result.data?.registerWebhook as { id: string; secret: string } | undefined;
    if (!registration) throw new Error(`registerWebhook failed: ${JSON.stringify(result.errors)}`);
    this.#secrets.set(userId, registration.secret);
  }

  get posts(): number {
    return [...this.postsByDelivery.values()].reduce((sum, count) => sum + count, 0);
  }

  get repeatedPosts(): number {
    return [...this.postsByDelivery.values()].reduce((sum, count) => sum + count - 1, 0);
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #receive(path: string, headers: Record<string, string | string[] | undefined>, body: string): void {
    const userId = path.replace('/hooks/', '');
    const secret = this.#secrets.get(userId);
    const timestamp = String(headers['x-ecocoin-timestamp'] ?? '');
    const signature = String(headers['x-ecocoin-signature'] ?? '');
    const expected = secret ? `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}` : '';
    const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) <= SIGNATURE_AGE_MAX_SECONDS;
    if (!secret || expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature)) || !fresh) {
      this.badSignatures.push(`${path} ${timestamp} ${signature}`);
      return;
    }
    const delivery = JSON.parse(body) as { deliveryId: string; notification: { kind: string; transactionId: string | null } };
    countInto(this.postsByDelivery, delivery.deliveryId);
    const { kind, transactionId } = delivery.notification;
    if (!transactionId || !(COMPLETION_NOTICE_KINDS as readonly string[]).includes(kind)) return;
    this.deliveriesByTransaction.set(transactionId, (this.deliveriesByTransaction.get(transactionId) ?? new Set()).add(delivery.deliveryId));
  }
}

// ---- the transaction feed: one resumable subscription per customer ----

/**
 * A refused handshake (HAProxy's 503 while no gateway is up) is an 'error' event on the socket; graphql-ws
 * reports it to the sink, but a socket it has already let go of would throw it as an unhandled error.
 */
class ListenedWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.on('error', () => {});
  }
}

const FEED = /* GraphQL */ `subscription ($after: String) { transactionFeed(after: $after) { cursor status transaction { id } } }`;
const RESUBSCRIBE_DELAY_MS = 100;

interface FeedItem {
  cursor: string;
  status: string;
  transaction: { id: string };
}

/**
 * A customer's `transactionFeed`, resubscribed with the last cursor it received after any error or end (a
 * gateway that died, SUBSCRIPTION_INTERRUPTED), as a client of the feed must. Counts COMPLETED items per
 * transaction id; every item is counted, so one delivered twice shows.
 */
export class FeedListener {
  readonly completedByTransaction = new Map<string, number>();
  items = 0;
  resubscriptions = 0;
  readonly errors: string[] = [];
  #cursor: string | null = null;
  #client: Client | null = null;
  #stopped = false;

  constructor(
    private readonly wsUrl: string,
    readonly userId: string,
    private readonly token: string,
  ) {}

  start(): void {
    this.#subscribe();
  }

  stop(): void {
    this.#stopped = true;
    this.#dispose();
  }

  /** Disposing a client whose connection failed rejects with that failure, which is already handled. */
  #dispose(): void {
    Promise.resolve(this.#client?.dispose()).catch(() => {});
  }

  #subscribe(): void {
    if (this.#stopped) return;
    this.#dispose();
    const client = createClient({ url: this.wsUrl, webSocketImpl: ListenedWebSocket, retryAttempts: 0, lazy: true, connectionParams: { authorization: `Bearer ${this.token}` } });
    this.#client = client;
    const again = (reason: string) => {
      if (this.#stopped || this.#client !== client) return;
      this.errors.push(reason);
      this.resubscriptions += 1;
      setTimeout(() => this.#subscribe(), RESUBSCRIBE_DELAY_MS);
    };
    client.subscribe<{ transactionFeed: FeedItem }>(
      { query: FEED, variables: { after: this.#cursor } },
      {
        next: (message) => {
          const item = message.data?.transactionFeed;
          if (!item) return again(`no item: ${JSON.stringify(message.errors)}`);
          this.#cursor = item.cursor;
          this.items += 1;
          if (item.status === 'COMPLETED') countInto(this.completedByTransaction, item.transaction.id);
        },
        error: (error) => again(Array.isArray(error) ? JSON.stringify(error) : error instanceof Error ? error.message : `closed ${(error as { code?: number }).code ?? ''}`),
        complete: () => again('completed'),
      },
    );
  }
}
