import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { issueUserToken } from '../../lib/auth/user-token.js';
import { register as registerPerson } from '../../test/support/people.js';
import { type Stack, startStack, TEST_SECRETS } from '../../test/support/stack.js';
import { waitFor } from '../../test/support/wait.js';

/** Answers are kept this long here, so a deleted account is noticed within the test's bound. */
const TTL_MS = 300;
const tokenSettings = { secret: TEST_SECRETS.JWT_SECRET, issuer: 'ecocoin', audience: 'ecocoin-api', ttlSeconds: 3600 };
const NOTIFICATIONS = /* GraphQL */ `{ unreadNotificationCount }`;
const HISTORY = /* GraphQL */ `{ transactions(first: 5) { edges { node { id } } } }`;
const ALERT = /* GraphQL */ `mutation { createPriceAlert(input: { symbol: MCO2, direction: ABOVE, threshold: "100" }) { id } }`;

let stack: Stack;
let userSql: postgres.Sql;
const sockets: ReturnType<typeof createClient>[] = [];

beforeAll(async () => {
  stack = await startStack({ services: ['user', 'transaction', 'notification'], env: { ACCOUNT_CHECK_TTL_MS: String(TTL_MS), ACCOUNT_CHECK_NEGATIVE_TTL_MS: String(TTL_MS) } });
  userSql = postgres(stack.userDatabaseUrl, { max: 1, onnotice: () => {} });
}, 60_000);
afterAll(async () => {
  for (const socket of sockets) await socket.dispose();
  await userSql?.end();
  await stack?.stop();
});

const register = (name: string) => registerPerson(stack.gatewayUrl, name);

/** The close code of a WebSocket connection made with this token (0 if it stays open until the bound). */
async function socketCloseCode(token: string): Promise<number> {
  let code = 0;
  const client = createClient({
    url: stack.gatewayUrl.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    // The close is what the test reads; graphql-ws would otherwise print it.
    onNonLazyError: () => {},
    connectionParams: { authorization: `Bearer ${token}` },
    on: { closed: (event) => (code = (event as { code: number }).code) },
  });
  client.on('error', () => {});
  sockets.push(client);
  await waitFor(() => code !== 0, { timeoutMs: 5_000, message: 'the socket to close' });
  return code;
}

const codeOf = (result: { errors?: { extensions?: Record<string, unknown> }[] }) => result.errors?.[0]?.extensions?.code;

describe('tokens of accounts that do not exist', () => {
  it('refuses a valid token for a user id nobody has, on every path, with UNAUTHENTICATED', async () => {
    const token = (await issueUserToken({ userId: randomUUID(), role: 'BUYER' }, tokenSettings)).token;
    for (const document of [NOTIFICATIONS, HISTORY, ALERT, `{ me { id } }`]) {
      const result = await stack.graphql(document, {}, token);
      expect(result.status, document).toBe(401);
      expect(codeOf(result), document).toBe('UNAUTHENTICATED');
    }
    expect(await socketCloseCode(token)).toBe(4401);
  });

  it('refuses the token of an account deleted after it signed in, once the short cache has passed', async () => {
    const ana = await register('Ana');
    expect(codeOf(await stack.graphql(NOTIFICATIONS, {}, ana.token))).toBeUndefined();
    await userSql.begin(async (tx) => {
      await tx`delete from wallets where user_id = ${ana.id}`;
      await tx`delete from users where id = ${ana.id}`;
    });
    const refused = await waitFor(async () => {
      const result = await stack.graphql(NOTIFICATIONS, {}, ana.token);
      return codeOf(result) === 'UNAUTHENTICATED' && result;
    }, { timeoutMs: 10 * TTL_MS, message: 'the deleted account to be refused' });
    expect(refused.data ?? null).toBeNull();
    expect(await socketCloseCode(ana.token)).toBe(4401);
  });

  // Last: it stops the user subgraph.
  it('keeps serving a recently confirmed account while the user subgraph is down, and answers others UPSTREAM_UNAVAILABLE', async () => {
    const ben = await register('Ben');
    expect(codeOf(await stack.graphql(NOTIFICATIONS, {}, ben.token))).toBeUndefined();
    await stack.subgraphs.user!.server.stop();
    const startedMs = Date.now();
    // Past the TTL the gateway asks again, gets no answer, and serves on its earlier "yes" (grace: 5 minutes by default).
    await waitFor(() => Date.now() - startedMs > 2 * TTL_MS, { timeoutMs: 10 * TTL_MS, message: 'the TTL to pass' });
    const served = await stack.graphql(NOTIFICATIONS, {}, ben.token);
    expect(served.errors).toBeUndefined();
    expect(served.data?.unreadNotificationCount).toBe(0);
    const stranger = (await issueUserToken({ userId: randomUUID(), role: 'BUYER' }, tokenSettings)).token;
    const unknown = await stack.graphql(NOTIFICATIONS, {}, stranger);
    expect(unknown.status).toBe(503);
    expect(codeOf(unknown)).toBe('UPSTREAM_UNAVAILABLE');
    expect(await socketCloseCode(stranger)).toBe(1013);
  });
});
