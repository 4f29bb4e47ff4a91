import { performance } from 'node:perf_hooks';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

export const PRICE_SUBSCRIPTION = /* GraphQL */ `
  subscription { priceUpdated(symbol: MCO2) { value } }
`;

/** Connecting and acknowledging one socket (token check included), however many are in its batch. */
const CONNECT_TIMEOUT_MS = 30_000;

/** Subscribers, one graphql-ws client and one socket each, all signed in as the same user. */
export interface Crowd {
  requested: number;
  connected: number;
  /** Sockets that did not connect, by what happened. */
  connectFailures: Record<string, number>;
  connectSeconds: number;
  /** Connected sockets that closed before the crowd was dismissed. */
  readonly lostConnections: number;
  /** Error messages, or results without a price, by message. */
  readonly subscriptionErrors: Record<string, number>;
  /** Subscriptions the gateway completed before the crowd was dismissed. */
  readonly completedEarly: number;
  dismiss(): Promise<void>;
}

export interface CrowdOptions {
  gatewayUrl: string;
  token: string;
  count: number;
  /** Sockets opened at once; the next batch starts when this one has connected or failed. */
  batch: number;
  /** Every price a subscriber receives, by the subscriber's index: 0 to `connected` − 1, in the order they connected. */
  onPrice(index: number, value: string): void;
}

/**
 * Connects `count` subscribers in batches, each subscribing to MCO2 prices as soon as its socket is
 * acknowledged. Sockets that fail are counted, not retried (retryAttempts 0): a failure is a finding.
 */
export async function gatherCrowd(options: CrowdOptions): Promise<Crowd> {
  const startedAtMs = performance.now();
  const url = options.gatewayUrl.replace(/^http/, 'ws');
  const clients: Client[] = [];
  const connectFailures: Record<string, number> = {};
  const subscriptionErrors: Record<string, number> = {};
  const count = (tally: Record<string, number>, key: string) => {
    tally[key] = (tally[key] ?? 0) + 1;
  };
  let dismissed = false;
  let lostConnections = 0;
  let completedEarly = 0;
  let connectedSoFar = 0;

  function connectOne(): Promise<Client | null> {
    return new Promise((resolve) => {
      let settled = false;
      let index = -1;
      const settle = (client: Client | null, failure?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (failure) count(connectFailures, failure);
        resolve(client);
      };
      const client = createClient({
        url,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${options.token}` },
        onNonLazyError: () => {},
        on: {
          connected: () => {
            if (settled) return;
            index = connectedSoFar++;
            settle(client);
          },
          closed: (event) => {
            if (!settled) return settle(null, `closed before acknowledged (${(event as { code?: number }).code ?? 'no code'})`);
            if (!dismissed) lostConnections += 1;
          },
          error: () => settle(null, 'socket error'),
        },
      });
      const timer = setTimeout(() => {
        settle(null, `not acknowledged within ${CONNECT_TIMEOUT_MS} ms`);
        void client.dispose();
      }, CONNECT_TIMEOUT_MS);
      client.subscribe<{ priceUpdated: { value: string } }>(
        { query: PRICE_SUBSCRIPTION },
        {
          next: (result) => {
            const value = result.data?.priceUpdated.value;
            if (value !== undefined) options.onPrice(index, value);
            else count(subscriptionErrors, result.errors?.[0]?.message ?? 'a result without a price');
          },
          error: (error) => {
            if (!dismissed && settled) count(subscriptionErrors, Array.isArray(error) ? String(error[0]?.message) : 'the subscription failed');
          },
          complete: () => {
            if (!dismissed) completedEarly += 1;
          },
        },
      );
    });
  }

  for (let first = 0; first < options.count; first += options.batch) {
    const batch = Array.from({ length: Math.min(options.batch, options.count - first) }, () => connectOne());
    for (const client of await Promise.all(batch)) if (client) clients.push(client);
  }

  return {
    requested: options.count,
    connected: clients.length,
    connectFailures,
    connectSeconds: (performance.now() - startedAtMs) / 1000,
    get lostConnections() {
      return lostConnections;
    },
    subscriptionErrors,
    get completedEarly() {
      return completedEarly;
    },
    async dismiss() {
      dismissed = true;
      await Promise.all(clients.map((client) => client.dispose()));
    },
  };
}
