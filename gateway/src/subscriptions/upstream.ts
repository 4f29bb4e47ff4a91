import { randomUUID } from 'node:crypto';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { type Client, createClient, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import type { Identity } from '../../../lib/auth/identity.js';
import { INTERNAL_CREDENTIAL_HEADER, type InternalCredential } from '../../../lib/auth/internal-credential.js';
import { type Backoff, backoffDelayMs } from '../../../lib/backoff.js';
import { AppError, isPublicCode } from '../../../lib/errors.js';
import { createPushQueue, type PushQueue } from '../../../lib/events/push-queue.js';

export type Event = FormattedExecutionResult<Record<string, unknown>, unknown>;

/**
 * Events one consumer of an upstream (a group of identical subscribers, groups.ts) may have waiting to be completed;
 * a group that falls this far behind (its entity fetches slower than the events come) is ended, not allowed to grow memory.
 */
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
 * What becomes of an upstream subscription when its connection to the subgraph is lost. A latest-value view
 * (priceUpdated, walletUpdated, transactionUpdated…) is resubscribed transparently: the next event is as good as
 * any missed one. A resumable feed (a root field with an `after` argument) is not: resubscribing with the
 * client's original `after` would repeat what it already received, and from now would hide the gap. Its client
 * is told SUBSCRIPTION_INTERRUPTED instead and resumes with the cursor of the last item it received.
 */
export type UpstreamKind = 'latest-value' | 'resumable';

const interrupted = (serviceName: string) =>
  new AppError('SUBSCRIPTION_INTERRUPTED', `The connection to the ${serviceName} service was lost; resubscribe with the cursor of the last item you received`);

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

  /**
   * A latest-value subscription shares the client of its subgraph and identity, which reconnects and resubscribes
   * transparently. A resumable one gets a client of its own that retries only until it first connects: once its
   * subscription has started, a lost connection must end it, and no other subscription's connection may.
   */
  #acquireClient(serviceName: string, identity: Identity | null, kind: UpstreamKind): { client: Client; clientKey: string; connected: () => boolean } {
    const clientKey = kind === 'resumable' ? `${serviceName}\n${identity?.userId ?? ''}\n${randomUUID()}` : `${serviceName}\n${identity?.userId ?? ''}`;
    const held = this.#clients.get(clientKey);
    if (held) {
      held.users += 1;
      return { client: held.client, clientKey, connected: () => true };
    }
    const url = this.subgraphUrls[serviceName];
    if (!url) throw new AppError('UPSTREAM_UNAVAILABLE', `No route to the ${serviceName} service`);
    let connectedOnce = false;
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      lazyCloseTimeout: 1_000,
      retryAttempts: this.retryAttempts,
      shouldRetry: () => kind === 'latest-value' || !connectedOnce,
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoffDelayMs(retries, UPSTREAM_RECONNECT_BACKOFF))),
      connectionParams: async () => ({ [INTERNAL_CREDENTIAL_HEADER]: await this.credential.mint({ kind: 'gateway', identity }) }),
      on: { connected: () => void (connectedOnce = true) },
    });
    this.#clients.set(clientKey, { client, users: 1 });
    return { client, clientKey, connected: () => connectedOnce };
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
    kind: UpstreamKind = 'latest-value',
  ): AsyncIterableIterator<Event> {
    const identical = JSON.stringify([serviceName, operation, variables, identity?.userId ?? null]);
    // Never shared: a subscriber joining a resumable feed late would miss the items replayed before it came.
    const key = kind === 'resumable' ? `${identical}\n${randomUUID()}` : identical;
    const shared = this.#shared.get(key) ?? this.#start(key, serviceName, operation, variables, identity, kind);
    const subscriber = createPushQueue<Event>({
      lengthMax: SUBSCRIBER_QUEUE_LENGTH_MAX,
      overflow: () => new AppError('RATE_LIMITED', 'This subscription fell too far behind its events and was ended; subscribe again'),
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

  #start(key: string, serviceName: string, operation: string, variables: Record<string, unknown>, identity: Identity | null, kind: UpstreamKind): Shared {
    const { client, clientKey, connected } = this.#acquireClient(serviceName, identity, kind);
    const shared: Shared = { subscribers: new Set(), stop: () => {}, clientKey };
    this.#shared.set(key, shared);
    let refused = false;
    if (kind === 'resumable') {
      // At once and whatever the close code: graphql-ws would resubscribe after a normal closure (1000) by itself.
      client.on('closed', () => {
        if (!connected() || this.#shared.get(key) !== shared) return;
        this.#finish(key, shared);
        for (const subscriber of shared.subscribers) subscriber.fail(interrupted(serviceName));
      });
    }
    shared.stop = client.subscribe<Record<string, unknown>>(
      { query: operation, variables },
      {
        next: (event) => {
          // No `data` at all (not even null): the subgraph refused to start the subscription (a bad argument) and
          // completes it next, which is then an answer, not an interruption.
          if (!('data' in event) && event.errors?.length) refused = true;
          for (const subscriber of shared.subscribers) subscriber.push(event);
        },
        error: (error) => {
          this.#finish(key, shared);
          const failure = refusalIn(error) ?? (kind === 'resumable' && connected() ? interrupted(serviceName) : new AppError('UPSTREAM_UNAVAILABLE', `The ${serviceName} service stopped this subscription: ${describe(error)}`));
          for (const subscriber of shared.subscribers) subscriber.fail(failure);
        },
        complete: () => {
          this.#finish(key, shared);
          // A resumable feed has no end of its own: the service ended it because it is stopping.
          for (const subscriber of shared.subscribers) {
            if (kind === 'resumable' && !refused) subscriber.fail(interrupted(serviceName));
            else subscriber.end();
          }
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

/**
 * The subgraph's refusal of the subscription itself (a bad `after`, not signed in), passed on with its public code
 * so the client can act on it; anything else (a lost connection, an error without a public code) is not one.
 */
function refusalIn(error: unknown): GraphQLError | null {
  if (!Array.isArray(error)) return null;
  const first = error[0] as GraphQLFormattedError | undefined;
  if (!first || !isPublicCode(first.extensions?.code)) return null;
  return new GraphQLError(first.message, { extensions: first.extensions });
}

function describe(error: unknown): string {
  if (Array.isArray(error)) return error.map((item) => (item as { message?: string }).message ?? String(item)).join('; ');
  if (error && typeof error === 'object' && 'code' in error) return `connection closed (${(error as { code: number }).code})`;
  return error instanceof Error ? error.message : String(error);
}
