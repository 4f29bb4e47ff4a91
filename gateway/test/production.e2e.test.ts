import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../test/support/stack.js';

let stack: Stack;
beforeAll(async () => {
  // Production refuses anvil's public mnemonic; any other valid one will do here (BIP-39's first test vector).
  const mnemonic = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
  stack = await startStack({ env: { NODE_ENV: 'production' }, serviceEnv: { blockchain: { CUSTODY_MNEMONIC: mnemonic } } });
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
});
