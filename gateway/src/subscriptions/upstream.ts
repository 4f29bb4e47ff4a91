import { type Client, createClient, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import type { Identity } from '../../../lib/auth/identity.js';
import { INTERNAL_CREDENTIAL_HEADER, type InternalCredential } from '../../../lib/auth/internal-credential.js';
import { type Backoff, backoffDelayMs } from '../../../lib/backoff.js';
import { AppError } from '../../../lib/errors.js';
import { createPushQueue, type PushQueue } from '../../../lib/events/push-queue.js';

export type Event = FormattedExecutionResult<Record<string, unknown>, unknown>;

/** Events one subscriber may have waiting; a subscriber that falls this far behind is ended, not allowed to grow memory. */
export const SUBSCRIBER_QUEUE_LENGTH_MAX = 100;

/**
 * The wait before each reconnect to a subgraph: about a second first, doubling, at most 30 s, half of it drawn at
 * random so that the gateway's upstreams do not all knock at once when a subgraph comes back.
 */
const UPSTREAM_RECONNECT_BACKOFF: Backoff = { baseMs: 2_000, maxMs: 30_000, jitter: 0.5 };

interface Shared {
  subscribers: Set<PushQueue<Event>>;
  stop: () => void;
  clientKey: string;
}

/**
 * The gateway's subscriptions to subgraphs over graphql-ws, each carrying the internal credential for the
 * caller. Identical subscriptions share one upstream: public ones across all callers, personal ones per user.
 * A graphql-ws client (one socket) per subgraph and identity lives while it carries a subscription.
 */
export class Upstreams {
  readonly #clients = new Map<string, { client: Client; users: number }>();
  readonly #shared = new Map<string, Shared>();

  constructor(
    private readonly subgraphUrls: Record<string, string>,
    private readonly credential: InternalCredential,
    /** Reconnects of a lost upstream connection, UPSTREAM_RECONNECT_BACKOFF apart. */
    private readonly retryAttempts: number,
  ) {}

  /** How many upstream subscriptions are open (for tests and metrics). */
  get openCount(): number {
    return this.#shared.size;
  }

  #acquireClient(serviceName: string, identity: Identity | null): { client: Client; clientKey: string } {
    const clientKey = `${serviceName}\n${identity?.userId ?? ''}`;
    const held = this.#clients.get(clientKey);
    if (held) {
      held.users += 1;
      return { client: held.client, clientKey };
    }
    const url = this.subgraphUrls[serviceName];
    if (!url) throw new AppError('UPSTREAM_UNAVAILABLE', `No route to the ${serviceName} service`);
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      lazyCloseTimeout: 1_000,
      retryAttempts: this.retryAttempts,
      shouldRetry: () => true,
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoffDelayMs(retries, UPSTREAM_RECONNECT_BACKOFF))),
      connectionParams: async () => ({ [INTERNAL_CREDENTIAL_HEADER]: await this.credential.mint({ kind: 'gateway', identity }) }),
    });
    this.#clients.set(clientKey, { client, users: 1 });
    return { client, clientKey };
  }

  #releaseClient(clientKey: string) {
    const held = this.#clients.get(clientKey);
    if (!held) return;
    held.users -= 1;
    if (held.users > 0) return;
    this.#clients.delete(clientKey);
    void held.client.dispose();
  }

  /** Events of `operation` on `serviceName`, shared with every identical subscription. */
  subscribe(
    serviceName: string,
    operation: string,
    variables: Record<string, unknown>,
    identity: Identity | null,
    /** Called when this subscriber falls `SUBSCRIBER_QUEUE_LENGTH_MAX` events behind: its client is too slow. */
    onTooSlow: () => void = () => {},
  ): AsyncIterableIterator<Event> {
    const key = JSON.stringify([serviceName, operation, variables, identity?.userId ?? null]);
    const shared = this.#shared.get(key) ?? this.#start(key, serviceName, operation, variables, identity);
    const subscriber = createPushQueue<Event>({
      lengthMax: SUBSCRIBER_QUEUE_LENGTH_MAX,
      overflow: () => {
        onTooSlow();
        return new AppError('RATE_LIMITED', 'This subscription fell too far behind its events and was ended; subscribe again');
      },
      onClose: () => {
        shared.subscribers.delete(subscriber);
        if (shared.subscribers.size === 0) this.#finish(key, shared);
      },
    });
    shared.subscribers.add(subscriber);
    return subscriber;
  }

  /** The upstream ends: no subscriber is left, or the subgraph ended it. */
  #finish(key: string, shared: Shared) {
    if (this.#shared.get(key) !== shared) return;
    this.#shared.delete(key);
    shared.stop();
    this.#releaseClient(shared.clientKey);
  }

  #start(key: string, serviceName: string, operation: string, variables: Record<string, unknown>, identity: Identity | null): Shared {
    const { client, clientKey } = this.#acquireClient(serviceName, identity);
    const shared: Shared = { subscribers: new Set(), stop: () => {}, clientKey };
    this.#shared.set(key, shared);
    shared.stop = client.subscribe<Record<string, unknown>>(
      { query: operation, variables },
      {
        next: (event) => {
          for (const subscriber of shared.subscribers) subscriber.push(event);
        },
        error: (error) => {
          this.#finish(key, shared);
          for (const subscriber of shared.subscribers) subscriber.fail(new AppError('UPSTREAM_UNAVAILABLE', `The ${serviceName} service stopped this subscription: ${describe(error)}`));
        },
        complete: () => {
          this.#finish(key, shared);
          for (const subscriber of shared.subscribers) subscriber.end();
        },
      },
    );
    return shared;
  }

  async close(): Promise<void> {
    for (const [key, shared] of this.#shared) {
      this.#finish(key, shared);
      for (const subscriber of shared.subscribers) subscriber.end();
    }
    await Promise.all([...this.#clients.values()].map(({ client }) => client.dispose()));
    this.#clients.clear();
  }

  /** graphql-ws clients open (one per subgraph and identity with a live subscription). */
  get clientCount(): number {
    return this.#clients.size;
  }
}

function describe(error: unknown): string {
  if (Array.isArray(error)) return error.map((item) => (item as { message?: string }).message ?? String(item)).join('; ');
  if (error && typeof error === 'object' && 'code' in error) return `connection closed (${(error as { code: number }).code})`;
  return error instanceof Error ? error.message : String(error);
}
