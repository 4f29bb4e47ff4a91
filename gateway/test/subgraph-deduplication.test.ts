import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { INTERNAL_CREDENTIAL_HEADER } from '../../lib/auth/internal-credential.js';
import { parseConfig } from '../../lib/config.js';
import { AppError } from '../../lib/errors.js';
import { gatewayConfigSchema } from '../src/config.js';
import type { GatewayContext } from '../src/context.js';
import { SubgraphSource } from '../src/subgraph-source.js';
import { type HeldSubgraph, heldSubgraph } from '../../test/support/held-subgraph.js';
import { waitFor } from '../../test/support/wait.js';

const WALLETS = /* GraphQL */ `query Wallets__user__0 { me { wallets { currency balance } } }`;
const ANSWER = JSON.stringify({ data: { me: { wallets: [{ currency: 'USD', balance: '10.00' }] } } });

let subgraph: HeldSubgraph;
afterEach(async () => {
  await subgraph?.stop();
});

interface Counted {
  source: SubgraphSource;
  fetches: string[];
  deduplicated: () => number;
}

async function sourceOverHeldSubgraph(deduplicate = true): Promise<Counted> {
  subgraph = await heldSubgraph();
  subgraph.hold();
  const fetches: string[] = [];
  let deduplicated = 0;
  const source = new SubgraphSource('user', subgraph.url, {
    timeoutMs: 5_000,
    deduplicate,
    onFetch: (outcome) => fetches.push(outcome),
    onDeduplicated: () => (deduplicated += 1),
  });
  return { source, fetches, deduplicated: () => deduplicated };
}

interface Call {
  query?: string;
  variables?: Record<string, unknown>;
  credential?: string;
  /** The operation the gateway is running; none for a subscription's event (its request context names none). */
  operation?: 'query' | 'mutation' | null;
}

/** What the gateway's executor asks of a data source for one fetch of one client operation. */
function fetchFor(source: SubgraphSource, { query = WALLETS, variables = {}, credential = 'credential-of-ann', operation = 'query' }: Call = {}) {
  const context: GatewayContext = { identity: null, internalCredential: credential, requestId: randomUUID(), clientAddress: '127.0.0.1' };
  return source.process({
    kind: 'incoming operation',
    request: { query, variables },
    incomingRequestContext: { context, operation: operation ? { operation } : undefined },
    context,
  } as never);
}

/** Starts the calls at once and waits until each has either reached the subgraph or joined one that has. */
async function inFlight(counted: Counted, calls: Call[]) {
  const answers = calls.map((call) => fetchFor(counted.source, call).then((response) => ({ response }), (error: unknown) => ({ error })));
  await waitFor(() => subgraph.received.length + counted.deduplicated() === calls.length, { timeoutMs: 5_000, message: `${calls.length} fetches in flight` });
  return answers;
}

describe('identical subgraph queries in flight at the same moment', () => {
  it('share one fetch, and each caller gets an answer of its own to change', async () => {
    const counted = await sourceOverHeldSubgraph();
    const answers = await inFlight(counted, Array.from({ length: 5 }, () => ({})));
    subgraph.release({ status: 200, body: ANSWER });
    const responses = await Promise.all(answers);
    expect(subgraph.received).toHaveLength(1);
    expect(counted.deduplicated()).toBe(4);
    expect(counted.fetches).toEqual(['2xx']);
    const [first, ...others] = responses.map((answer) => (answer as { response: { data: { me: { wallets: { balance: string }[] } } } }).response);
    first!.data.me.wallets[0]!.balance = 'changed by the first caller';
    for (const other of others) expect(other.data).toEqual(JSON.parse(ANSWER).data);
  });

  it('are forgotten once answered: a query after that makes its own fetch', async () => {
    const counted = await sourceOverHeldSubgraph();
    subgraph.release({ status: 200, body: ANSWER });
    await fetchFor(counted.source);
    await fetchFor(counted.source);
    expect(subgraph.received).toHaveLength(2);
    expect(counted.deduplicated()).toBe(0);
  });

  it('are not shared across credentials (identities) or variables', async () => {
    const counted = await sourceOverHeldSubgraph();
    const answers = await inFlight(counted, [{ credential: 'credential-of-ann' }, { credential: 'credential-of-bob' }, { variables: { first: 1 } }, { variables: { first: 2 } }]);
    subgraph.release({ status: 200, body: ANSWER });
    await Promise.all(answers);
    expect(subgraph.received.map(({ headers }) => headers[INTERNAL_CREDENTIAL_HEADER])).toEqual(['credential-of-ann', 'credential-of-bob', 'credential-of-ann', 'credential-of-ann']);
    expect(counted.deduplicated()).toBe(0);
  });

  it('never shares a mutation, a query fetched for a mutation, or a subscription’s fetch', async () => {
    const counted = await sourceOverHeldSubgraph();
    const markRead = /* GraphQL */ `mutation { markNotificationsRead(ids: []) }`;
    const calls: Call[] = [
      { query: markRead, operation: 'mutation' },
      { query: markRead, operation: 'mutation' },
      { operation: 'mutation' },
      { operation: 'mutation' },
      { operation: null },
      { operation: null },
    ];
    const answers = await inFlight(counted, calls);
    subgraph.release({ status: 200, body: ANSWER });
    await Promise.all(answers);
    expect(subgraph.received).toHaveLength(6);
    expect(counted.deduplicated()).toBe(0);
  });

  it('are each fetched when SUBGRAPH_DEDUPLICATION is off', async () => {
    const counted = await sourceOverHeldSubgraph(false);
    const answers = await inFlight(counted, [{}, {}, {}]);
    subgraph.release({ status: 200, body: ANSWER });
    await Promise.all(answers);
    expect(subgraph.received).toHaveLength(3);
    expect(counted.fetches).toEqual(['2xx', '2xx', '2xx']);
  });

  it('fail every caller as each would have failed alone, with an error of its own', async () => {
    const refusal = JSON.stringify({ errors: [{ message: 'first must be at most 100', extensions: { code: 'BAD_USER_INPUT', field: 'first' } }] });
    for (const [release, code] of [
      [{ status: 503, body: '{}' }, 'UPSTREAM_UNAVAILABLE'],
      ['hang-up', 'UPSTREAM_UNAVAILABLE'],
      [{ status: 400, body: refusal }, 'BAD_USER_INPUT'],
    ] as const) {
      const counted = await sourceOverHeldSubgraph();
      const answers = await inFlight(counted, [{}, {}, {}]);
      subgraph.release(release);
      const errors = (await Promise.all(answers)).map((answer) => (answer as { error: AppError }).error);
      expect(subgraph.received, code).toHaveLength(1);
      expect(errors.map((error) => error.extensions.code)).toEqual([code, code, code]);
      expect(new Set(errors).size, 'one error object per caller').toBe(3);
      if (code === 'UPSTREAM_UNAVAILABLE') expect(errors.every((error) => error instanceof AppError)).toBe(true);
      await subgraph.stop();
    }
  });
});

describe('SUBGRAPH_DEDUPLICATION', () => {
  it('is on unless set to off, and refuses anything else, naming the variable', () => {
    expect(parseConfig(gatewayConfigSchema, {}).SUBGRAPH_DEDUPLICATION).toBe('on');
    expect(parseConfig(gatewayConfigSchema, { SUBGRAPH_DEDUPLICATION: 'off' }).SUBGRAPH_DEDUPLICATION).toBe('off');
    for (const value of ['true', 'OFF', '0']) {
      expect(() => parseConfig(gatewayConfigSchema, { SUBGRAPH_DEDUPLICATION: value }), value).toThrow(/SUBGRAPH_DEDUPLICATION: must be on or off/);
    }
  });
});
