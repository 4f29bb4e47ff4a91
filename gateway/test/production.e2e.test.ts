import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { register } from '../../test/support/people.js';
import { type Stack, startStack } from '../../test/support/stack.js';

let stack: Stack;
beforeAll(async () => {
  // Sign-in (user) and prices are all it asks of the subgraphs.
  stack = await startStack({ services: ['user', 'price'], env: { NODE_ENV: 'production' } });
});
afterAll(async () => {
  await stack?.stop();
});

describe('the gateway in production', () => {
  it('refuses introspection', async () => {
    const result = await stack.graphql(/* GraphQL */ `query { __schema { types { name } } }`);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0]?.message).toMatch(/introspection/i);
  });

  it('serves no landing page', async () => {
    const page = await fetch(stack.gatewayUrl, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('embeddable-sandbox');
  });

  it('serves no GraphiQL page', async () => {
    expect((await fetch(new URL('/graphiql', stack.gatewayUrl))).status).toBe(404);
  });

  it('still serves the API', async () => {
    const result = await stack.graphql(/* GraphQL */ `mutation { login(email: "nobody@example.com", password: "whatever-123") { token } }`);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('leaves "Did you mean" suggestions out of validation and variable errors', async () => {
    const typo = await stack.graphql(/* GraphQL */ `{ prise(symbol: MCO2) { value } }`);
    expect(typo.errors?.[0]).toMatchObject({ message: 'Cannot query field "prise" on type "Query".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    const variable = await stack.graphql(/* GraphQL */ `query ($symbol: PriceSymbol!) { price(symbol: $symbol) { value } }`, { symbol: 'MCO' });
    expect(variable.errors?.[0]?.message).toMatch(/MCO/);
    expect(variable.errors?.[0]?.message).not.toMatch(/did you mean/i);
  });

  it('leaves suggestions out over WebSocket too', async () => {
    const { token } = await register(stack.gatewayUrl, 'Typo');
    const client = createClient({ url: stack.gatewayUrl.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
    try {
      const errors = await new Promise<readonly { message: string; extensions?: Record<string, unknown> }[]>((resolve, reject) => {
        client.subscribe({ query: `subscription { priceUpdatd(symbol: MCO2) { value } }` }, { next: () => reject(new Error('served')), error: (error) => resolve(Array.isArray(error) ? error : [{ message: String(error) }]), complete: () => reject(new Error('completed without an error')) });
      });
      expect(errors[0]).toMatchObject({ message: 'Cannot query field "priceUpdatd" on type "Subscription".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    } finally {
      await client.dispose();
    }
  });
});
