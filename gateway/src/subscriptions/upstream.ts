import { type Client, createClient, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import type { Identity } from '../../../lib/auth/identity.js';
import { INTERNAL_CREDENTIAL_HEADER, type InternalCredential } from '../../../lib/auth/internal-credential.js';
import { AppError } from '../../../lib/errors.js';

export type Event = FormattedExecutionResult<Record<string, unknown>, unknown>;

/** Events one subscriber may have waiting; a subscriber that falls this far behind is ended, not allowed to grow memory. */
export const SUBSCRIBER_QUEUE_LENGTH_MAX = 100;

interface Subscriber {
  queue: Event[];
  wake: (() => void) | null;
  failure: Error | null;
  done: boolean;
}

interface Shared {
  subscribers: Set<Subscriber>;
  stop: () => void;
}

/**
 * The gateway's subscriptions to subgraphs over graphql-ws, each carrying the internal credential for the
 * caller. Identical subscriptions share one upstream: public ones across all callers, personal ones per user.
 */
export class Upstreams {
  readonly #clients = new Map<string, Client>();
  readonly #shared = new Map<string, Shared>();

  constructor(
    private readonly subgraphUrls: Record<string, string>,
    private readonly credential: InternalCredential,
    /** Reconnects of a lost upstream connection (graphql-ws waits a growing, random time between them). */
    private readonly retryAttempts: number,
  ) {}

  /** How many upstream subscriptions are open (for tests and metrics). */
  get openCount(): number {
    return this.#shared.size;
  }

  #client(serviceName: string, identity: Identity | null): Client {
    const key = `${serviceName}\n${identity?.userId ?? ''}`;
    let client = this.#clients.get(key);
    if (client) return client;
    const url = this.subgraphUrls[serviceName];
    if (!url) throw new AppError('UPSTREAM_UNAVAILABLE', `No route to the ${serviceName} service`);
    client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      lazyCloseTimeout: 1_000,
      retryAttempts: this.retryAttempts,
      shouldRetry: () => true,
      connectionParams: async () => ({ [INTERNAL_CREDENTIAL_HEADER]: await this.credential.mint({ kind: 'gateway', identity }) }),
    });
    this.#clients.set(key, client);
    return client;
  }

  /** Events of `operation` on `serviceName`, shared with every identical subscription. */
  async *subscribe(serviceName: string, operation: string, variables: Record<string, unknown>, identity: Identity | null): AsyncGenerator<Event> {
    const key = JSON.stringify([serviceName, operation, variables, identity?.userId ?? null]);
    const subscriber: Subscriber = { queue: [], wake: null, failure: null, done: false };
    let shared = this.#shared.get(key);
    if (!shared) {
      shared = this.#start(key, serviceName, operation, variables, identity);
      this.#shared.set(key, shared);
    }
    shared.subscribers.add(subscriber);
    try {
      for (;;) {
        const next = subscriber.queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (subscriber.failure) throw subscriber.failure;
        if (subscriber.done) return;
        await new Promise<void>((resolve) => {
          subscriber.wake = resolve;
        });
        subscriber.wake = null;
      }
    } finally {
      shared.subscribers.delete(subscriber);
      if (shared.subscribers.size === 0 && this.#shared.get(key) === shared) {
        this.#shared.delete(key);
        shared.stop();
      }
    }
  }

  #start(key: string, serviceName: string, operation: string, variables: Record<string, unknown>, identity: Identity | null): Shared {
    const subscribers = new Set<Subscriber>();
    const each = (apply: (subscriber: Subscriber) => void) => {
      for (const subscriber of subscribers) {
        apply(subscriber);
        subscriber.wake?.();
      }
    };
    const stop = this.#client(serviceName, identity).subscribe<Record<string, unknown>>(
      { query: operation, variables },
      {
        next: (event) =>
          each((subscriber) => {
            if (subscriber.queue.length >= SUBSCRIBER_QUEUE_LENGTH_MAX) {
              subscriber.failure = new AppError('RATE_LIMITED', 'This subscription fell too far behind its events and was ended; subscribe again');
            } else subscriber.queue.push(event);
          }),
        error: (error) => {
          if (this.#shared.get(key)?.subscribers === subscribers) this.#shared.delete(key);
          each((subscriber) => {
            subscriber.failure = new AppError('UPSTREAM_UNAVAILABLE', `The ${serviceName} service stopped this subscription: ${describe(error)}`);
          });
        },
        complete: () => {
          if (this.#shared.get(key)?.subscribers === subscribers) this.#shared.delete(key);
          each((subscriber) => {
            subscriber.done = true;
          });
        },
      },
    );
    return { subscribers, stop };
  }

  async close(): Promise<void> {
    for (const shared of this.#shared.values()) shared.stop();
    this.#shared.clear();
    await Promise.all([...this.#clients.values()].map((client) => client.dispose()));
    this.#clients.clear();
  }
}

function describe(error: unknown): string {
  if (Array.isArray(error)) return error.map((item) => (item as { message?: string }).message ?? String(item)).join('; ');
  if (error && typeof error === 'object' && 'code' in error) return `connection closed (${(error as { code: number }).code})`;
  return error instanceof Error ? error.message : String(error);
}
