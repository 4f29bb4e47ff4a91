import { performance } from 'node:perf_hooks';
import { getIntrospectionQuery } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { aliasFlood, deepNesting, directivesFlood, fragmentBomb, repeatedFields, tokenFlood } from '../../bench/validation/shapes.js';
import { register } from '../../test/support/people.js';
import { postGraphQL, type Stack, startStack } from '../../test/support/stack.js';

/** Far above what a refusal takes (milliseconds); the fragment bomb used to take 15 minutes. */
const ANSWER_BOUND_MS = 5_000;

let stack: Stack;
beforeAll(async () => {
  // Prices and the ledger snapshot (user) are all its operations reach.
  stack = await startStack({ services: ['user', 'price'] });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

/** How many requests the gateway has sent to subgraphs, from its own metrics. */
async function subgraphFetches(): Promise<number> {
  const text = await (await fetch(stack.gateway.metricsUrl)).text();
  return [...text.matchAll(/^ecocoin_gateway_subgraph_fetch_duration_seconds_count\{[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** Sends `query` and, while it is in flight, asks /health; both must answer within the bound. */
async function sendBesideHealth(query: string, variables: Record<string, unknown> = {}) {
  const startedMs = performance.now();
  const [result, health] = await Promise.all([postGraphQL(stack.gatewayUrl, query, variables), fetch(new URL('/health', stack.gatewayUrl))]);
  const elapsedMs = performance.now() - startedMs;
  expect(health.status).toBe(200);
  expect(elapsedMs).toBeLessThan(ANSWER_BOUND_MS);
  return result;
}

const REFUSED = [
  ['the 30-fragment bomb', fragmentBomb(30), 'GRAPHQL_VALIDATION_FAILED', /^Query depth limit of 10 exceeded/],
  ['1,000 aliases of price', aliasFlood(1_000), 'GRAPHQL_PARSE_FAILED', /more that 1000 tokens/],
  ['16 aliases of price', aliasFlood(16), 'GRAPHQL_VALIDATION_FAILED', /^Aliases limit of 15 exceeded, found 16/],
  ['20,000 repeated fields', repeatedFields(20_000), 'GRAPHQL_PARSE_FAILED', /more that 1000 tokens/],
  ['100,000 tokens', tokenFlood(100_000), 'GRAPHQL_PARSE_FAILED', /more that 1000 tokens/],
  ['2,000 directives', directivesFlood(2_000), 'GRAPHQL_PARSE_FAILED', /more that 1000 tokens/],
  ['51 directives', directivesFlood(51), 'GRAPHQL_VALIDATION_FAILED', /^Directives limit of 50 exceeded/],
  ['40 levels of nesting', deepNesting(40), 'GRAPHQL_VALIDATION_FAILED', /^Query depth limit of 10 exceeded, found 40/],
] as const;

describe('operation limits at the gateway', () => {
  it.each(REFUSED)('refuses %s with a code and HTTP 400, before any subgraph is called', async (_name, query, code, message) => {
    const fetchesBefore = await subgraphFetches();
    const result = await sendBesideHealth(query);
    expect(result.status).toBe(400);
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions?.code).toBe(code);
    expect(result.errors?.[0]?.message).toMatch(message);
    expect(result.data).toBeUndefined();
    expect(await subgraphFetches()).toBe(fetchesBefore);
  });

  it('refuses an operation whose variables make it too large, before any subgraph is called', async () => {
    const query = /* GraphQL */ `query Snapshot($n: Int!) { ledgerSnapshot(first: $n) { accounts { owner { id } } } }`;
    const fetchesBefore = await subgraphFetches();
    const result = await sendBesideHealth(query, { n: 1_000_000 });
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0]?.message).toMatch(/^Operation cost limit of 50000 exceeded, found 2000001/);
    expect(await subgraphFetches()).toBe(fetchesBefore);
    // The same operation within the budget goes on to the user subgraph, which asks who is calling.
    const small = await stack.graphql(query, { n: 10 });
    expect(small.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await subgraphFetches()).toBeGreaterThan(fetchesBefore);
  });

  it('serves an operation within every limit', async () => {
    const result = await stack.graphql(/* GraphQL */ `{ mco2: price(symbol: MCO2) { symbol value } eth: price(symbol: ETH) { symbol } }`);
    expect(result.errors).toBeUndefined();
    expect(result.data?.mco2.symbol).toBe('MCO2');
  });

  // Without `isOneOf`: Apollo's query planner does not know that field of __Type yet.
  it("answers GraphiQL's and Apollo Sandbox's introspection query in development", async () => {
    const query = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true });
    const result = await stack.graphql(query);
    expect(result.errors).toBeUndefined();
    expect(result.data?.__schema.types.map((type: { name: string }) => type.name)).toContain('Transaction');
  });

  it('refuses the introspection field isOneOf, which the gateway does not serve, as the client\'s with HTTP 400', async () => {
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: getIntrospectionQuery({ oneOf: true }) }),
    });
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(response.status).toBe(400);
    expect(body.errors[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(body.errors[0]?.message).toContain('__Type.isOneOf');
  });

  it('keeps suggestions outside production', async () => {
    const result = await stack.graphql(/* GraphQL */ `{ prise(symbol: MCO2) { value } }`);
    expect(result.errors?.[0]?.message).toContain('Did you mean "price"?');
    const variable = await stack.graphql(/* GraphQL */ `query ($symbol: PriceSymbol!) { price(symbol: $symbol) { value } }`, { symbol: 'MCO' });
    expect(variable.errors?.[0]?.message).toMatch(/did you mean/i);
  });

  it('refuses the fragment bomb over WebSocket with the same code', async () => {
    const { token } = await register(stack.gatewayUrl, 'Bomb');
    const client = createClient({
      url: stack.gatewayUrl.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    try {
      const bomb = `subscription { priceUpdated(symbol: MCO2) { ...F29 } }\nfragment F0 on Price { value }\n${Array.from({ length: 29 }, (_, index) => `fragment F${index + 1} on Price { ...F${index} ...F${index} }`).join('\n')}`;
      const startedMs = performance.now();
      const errors = await new Promise<readonly { message: string; extensions?: Record<string, unknown> }[]>((resolve, reject) => {
        client.subscribe({ query: bomb }, { next: () => reject(new Error('the bomb was served')), error: (error) => resolve(Array.isArray(error) ? error : [{ message: String(error) }]), complete: () => reject(new Error('completed without an error')) });
      });
      expect(performance.now() - startedMs).toBeLessThan(ANSWER_BOUND_MS);
      expect(errors[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(errors[0]?.message).toMatch(/^Query depth limit of 10 exceeded/);
    } finally {
      await client.dispose();
    }
  });
});
