import { randomUUID } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { register as registerPerson } from '../../test/support/people.js';
import { type Stack, startStack } from '../../test/support/stack.js';
import { waitFor } from '../../test/support/wait.js';
import type { RunningGateway } from '../src/server.js';

/**
 * Low limits so that each one is reached in a few requests. The gateway believes one proxy hop, so each test
 * plays clients at addresses of its own through X-Forwarded-For, and no test uses up another's allowance.
 */
const LIMITS = {
  TRUSTED_PROXY_HOPS: '1',
  // A loaded test machine can take longer than the default half second; the in-memory fallback is tested on its own.
  RATE_LIMIT_STORE_TIMEOUT_MS: '5000',
  SIGN_IN_FAILURES_PER_ACCOUNT_MAX: '3',
  SIGN_IN_FAILURES_PER_ADDRESS_MAX: '5',
  // Long enough that a slow machine still asks while the lock-out holds, short enough to wait out twice.
  SIGN_IN_LOCKOUT_SECONDS: '3',
  ANONYMOUS_REQUESTS_PER_ADDRESS_PER_MINUTE: '10',
  MONEY_MUTATIONS_PER_USER_PER_MINUTE: '3',
  WEBSOCKET_OPEN_CONNECTIONS_PER_USER_MAX: '2',
  WEBSOCKET_OPEN_ANONYMOUS_CONNECTIONS_PER_ADDRESS_MAX: '2',
  WEBSOCKET_CONNECTIONS_PER_USER_PER_MINUTE: '3',
  WEBSOCKET_CONNECTIONS_PER_ADDRESS_PER_MINUTE: '4',
};
const PASSWORD = 'correct horse battery';

let stack: Stack;
/** A second gateway instance on the same gateway database: every limit must hold across both. */
let second: RunningGateway;
const clients: Client[] = [];

beforeAll(async () => {
  // Sign-ins and registrations (user) and the money mutation transfer (transaction) are all the limits meet.
  stack = await startStack({ services: ['user', 'transaction'], env: LIMITS });
  second = await stack.startGateway();
});
afterAll(async () => {
  for (const client of clients) await client.dispose();
  await second?.stop();
  await stack?.stop();
});

let addressCount = 0;
/** A client address of its own (TEST-NET-3, RFC 5737), as the trusted proxy would report it. */
const newAddress = () => `203.0.113.${(addressCount += 1)}`;

interface Answer {
  status: number;
  retryAfter: string | null;
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function call(url: string, address: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-forwarded-for': address };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), ...((await response.json()) as object) };
}

const LOGIN = /* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`;
const login = (email: string, password: string, url = stack.gatewayUrl, address = newAddress()) => call(url, address, LOGIN, { email, password });
const codeOf = (answer: Answer) => answer.errors?.[0]?.extensions?.code;

async function register(name: string, address = newAddress()) {
  // From `address`, as every request of this file is: the limits count per client address.
  const fromAddress: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'x-forwarded-for': address } });
  return registerPerson(stack.gatewayUrl, name, { password: PASSWORD, fetch: fromAddress });
}

/** Refused with RATE_LIMITED, 429, and a wait of more than `moreThanSeconds` and at most `atMostSeconds`. */
function expectRateLimited(answer: Answer, atMostSeconds: number, moreThanSeconds = 0) {
  expect(answer.status).toBe(429);
  expect(codeOf(answer)).toBe('RATE_LIMITED');
  const wait = answer.errors?.[0]?.extensions?.retryAfterSeconds as number;
  expect(wait).toBeGreaterThan(moreThanSeconds);
  expect(wait).toBeLessThanOrEqual(atMostSeconds);
  expect(answer.retryAfter).toBe(String(wait));
}

describe('failed sign-ins', () => {
  it('locks an account after 3 wrong passwords, on both gateways, and refuses the right password while locked', async () => {
    const { email } = await register('Guessed');
    for (const url of [stack.gatewayUrl, second.url, stack.gatewayUrl]) expect(codeOf(await login(email, 'wrong password!', url))).toBe('UNAUTHENTICATED');
    expectRateLimited(await login(email, PASSWORD), 3);
    expectRateLimited(await login(email.toUpperCase(), PASSWORD, second.url), 3);
  });

  it('doubles the lock-out each time, and a successful sign-in starts the count again', async () => {
    const { email } = await register('Persistent');
    const failTimes = async (times: number) => {
      for (let attempt = 0; attempt < times; attempt += 1) expect(codeOf(await login(email, 'wrong password!'))).toBe('UNAUTHENTICATED');
    };
    // Two failures, a success, two failures: not locked, since the success cleared the first two.
    await failTimes(2);
    expect((await login(email, PASSWORD)).data?.login.token).toBeTypeOf('string');
    await failTimes(2);
    expect(codeOf(await login(email, 'wrong password!'))).toBe('UNAUTHENTICATED');
    expectRateLimited(await login(email, PASSWORD), 3);
    // The first wrong password after the lock-out is counted afresh; two more and the second lock-out is twice as long.
    await waitFor(async () => codeOf(await login(email, 'wrong password!')) === 'UNAUTHENTICATED', { timeoutMs: 10_000, intervalMs: 200, message: 'the first lock-out to end' });
    await failTimes(2);
    expectRateLimited(await login(email, PASSWORD), 6, 3);
    const signedIn = await waitFor(async () => (await login(email, PASSWORD)).data?.login.token as string | undefined, { timeoutMs: 15_000, intervalMs: 200, message: 'the second lock-out to end' });
    expect(signedIn).toBeTypeOf('string');
    // The success also forgot the earlier lock-outs: the next one is 3 s again.
    await failTimes(3);
    expectRateLimited(await login(email, PASSWORD), 3);
  });

  it('counts guesses sent in parallel before any is answered: at most 3 are checked, then the account is locked', async () => {
    const { email } = await register('Raced');
    const answers = await Promise.all(Array.from({ length: 10 }, () => login(email, 'wrong password!')));
    const codes = answers.map(codeOf);
    expect(codes.filter((code) => code === 'UNAUTHENTICATED').length).toBeLessThanOrEqual(3);
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(10 - codes.filter((code) => code === 'UNAUTHENTICATED').length);
    expectRateLimited(await login(email, PASSWORD), 3);
  });

  it('locks a client address that fails on many accounts, whatever account it tries next', async () => {
    const address = newAddress();
    const victims = await Promise.all(['One', 'Two', 'Three', 'Four'].map((name) => register(name)));
    // Five failures from one address, at most two per account (under the account limit of 3).
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect(codeOf(await login(victims[attempt % 3]!.email, 'wrong password!', stack.gatewayUrl, address))).toBe('UNAUTHENTICATED');
    }
    expectRateLimited(await login(victims[3]!.email, PASSWORD, second.url, address), 3);
    // The accounts themselves are not locked: from elsewhere they sign in.
    expect((await login(victims[0]!.email, PASSWORD)).data?.login.token).toBeTypeOf('string');
  });

  it('refuses several logins in one document rather than count them as one attempt', async () => {
    const { email } = await register('Aliased');
    const answer = await call(stack.gatewayUrl, newAddress(), /* GraphQL */ `mutation ($email: String!) { a: login(email: $email, password: "guess one!") { token } b: login(email: $email, password: "guess two!") { token } }`, { email });
    expect(codeOf(answer)).toBe('BAD_USER_INPUT');
    expect(answer.errors?.[0]?.message).toBe('Send one login per request');
  });

  it('locks POST /token the same way, with 429 and Retry-After', async () => {
    const { email } = await register('Tooling');
    const token = (password: string, url = stack.gatewayUrl) =>
      fetch(url.replace('/graphql', '/token'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': newAddress() },
        body: new URLSearchParams({ grant_type: 'password', username: email, password }),
      });
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await token('wrong password!', attempt === 1 ? second.url : stack.gatewayUrl)).status).toBe(400);
    const refused = await token(PASSWORD);
    expect(refused.status).toBe(429);
    const wait = Number(refused.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(3);
    expect(await refused.json()).toMatchObject({ error: 'slow_down', retry_after_seconds: wait });
    // And the GraphQL login sees the same lock-out.
    expectRateLimited(await login(email, PASSWORD, second.url), 3);
  });
});

describe('anonymous requests', () => {
  it('refuses the 11th request without a token from one address in a minute, counted across both gateways', async () => {
    const address = newAddress();
    const query = /* GraphQL */ `{ __typename }`;
    for (let request = 0; request < 10; request += 1) expect((await call(request % 2 ? second.url : stack.gatewayUrl, address, query)).status).toBe(200);
    const refused = await call(stack.gatewayUrl, address, query);
    expect(refused.status).toBe(429);
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    const wait = refused.errors?.[0]?.extensions?.retryAfterSeconds as number;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
    expect(refused.retryAfter).toBe(String(wait));
    // Another address is not affected.
    expect((await call(second.url, newAddress(), query)).status).toBe(200);
  });

  it('believes no X-Forwarded-For unless a proxy hop is configured', async () => {
    const { clientAddressOf } = await import('../src/client-address.js');
    const request = (forwardedFor: string) => ({ socket: { remoteAddress: '::ffff:10.0.0.7' }, headers: { 'x-forwarded-for': forwardedFor } }) as never;
    expect(clientAddressOf(request('198.51.100.1'), 0)).toBe('10.0.0.7');
    expect(clientAddressOf(request('6.6.6.6, 198.51.100.1'), 1)).toBe('198.51.100.1');
    expect(clientAddressOf(request('6.6.6.6, 198.51.100.1, 10.0.0.2'), 2)).toBe('198.51.100.1');
    expect(clientAddressOf(request('2001:db8:1:2:3:4:5:6'), 1)).toBe('2001:db8:1:2::/64');
    expect(clientAddressOf(request('2001:db8:1:2::9'), 1)).toBe('2001:db8:1:2::/64');
  });
});

describe('money mutations', () => {
  const TRANSFER = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status } }`;

  it('refuses the 4th money mutation of a user in a minute, counted across both gateways', async () => {
    const payer = await register('Spender');
    const payee = await register('Payee');
    const transfer = (url: string) => call(url, newAddress(), TRANSFER, { input: { to: payee.id, currency: 'USD', amount: '1.00' }, key: randomUUID() }, payer.token);
    // Refused for want of funds, but each one was work for the platform, so each one counts.
    for (const url of [stack.gatewayUrl, second.url, stack.gatewayUrl]) expect(codeOf(await transfer(url))).toBe('INSUFFICIENT_FUNDS');
    const refused = await transfer(second.url);
    expect(refused.status).toBe(429);
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    expect(refused.errors?.[0]?.message).toMatch(/^At most 3 money mutations a minute; try again in \d+ s$/);
    // Other users are not affected.
    expect(codeOf(await call(stack.gatewayUrl, newAddress(), TRANSFER, { input: { to: payer.id, currency: 'USD', amount: '1.00' }, key: randomUUID() }, payee.token))).toBe('INSUFFICIENT_FUNDS');
  });

  it('counts every aliased money field in a document', async () => {
    const payer = await register('Batcher');
    const fields = Array.from({ length: 4 }, (_, index) => `t${index}: transfer(input: { to: "${payer.id}", currency: USD, amount: "1.00" }, idempotencyKey: "${randomUUID()}") { id }`);
    const refused = await call(stack.gatewayUrl, newAddress(), `mutation { ${fields.join(' ')} }`, {}, payer.token);
    expect(refused.status).toBe(429);
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    expect(refused.data ?? null).toBeNull();
  });
});

describe('WebSocket connections', () => {
  /** A graphql-ws connection from `address`; resolves with 'connected' or the close code and reason. */
  function open(url: string, token: string | undefined, address: string): Promise<{ client: Client; outcome: 'connected' | { code: number; reason: string } }> {
    class FromAddress extends WebSocket {
      constructor(target: string, protocols?: string | string[]) {
        super(target, protocols, { headers: { 'x-forwarded-for': address } });
      }
    }
    return new Promise((resolve) => {
      const client = createClient({
        url: url.replace('http', 'ws'),
        webSocketImpl: FromAddress,
        retryAttempts: 0,
        lazy: false,
        // A refused connection is what these tests expect; graphql-ws would print it to the console.
        onNonLazyError: () => {},
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        on: {
          connected: () => resolve({ client, outcome: 'connected' }),
          closed: (event) => resolve({ client, outcome: { code: (event as { code: number }).code, reason: (event as { reason: string }).reason } }),
        },
      });
      client.on('error', () => {});
      clients.push(client);
    });
  }

  it('caps the connections a user holds open, then the new connections a user makes in a minute', async () => {
    const { token } = await register('Tabs');
    const address = newAddress();
    const first = await open(stack.gatewayUrl, token, address);
    const secondOpen = await open(second.url, token, address);
    expect([first.outcome, secondOpen.outcome]).toEqual(['connected', 'connected']);
    // Open connections are counted on the instance that holds them (one each so far): a third on the first is admitted…
    const third = await open(stack.gatewayUrl, token, address);
    expect(third.outcome).toBe('connected');
    // …and a fourth there is refused by the cap of open connections (2 on that instance).
    const fourth = await open(stack.gatewayUrl, token, address);
    expect(fourth.outcome).toEqual({ code: 1013, reason: 'TOO_MANY_CONNECTIONS: at most 2 open per user' });
    // Closing one frees a place on that instance, but 3 new connections a minute is the user's limit on all of them.
    await first.client.dispose();
    const fifth = await open(stack.gatewayUrl, token, address);
    expect(fifth.outcome).toMatchObject({ code: 1013, reason: expect.stringMatching(/^RATE_LIMITED: retry in \d+ s$/) });
  });

  it('caps the connections without a token one address holds open, and frees a place when one closes', async () => {
    const address = newAddress();
    const visitors = [await open(stack.gatewayUrl, undefined, address), await open(stack.gatewayUrl, undefined, address)];
    expect(visitors.map((visitor) => visitor.outcome)).toEqual(['connected', 'connected']);
    expect((await open(stack.gatewayUrl, undefined, address)).outcome).toEqual({ code: 1013, reason: 'TOO_MANY_CONNECTIONS: at most 2 open without a token per address' });
    // A signed-in connection from the same address is counted per user, not here.
    const { token } = await register('Signed');
    expect((await open(stack.gatewayUrl, token, address)).outcome).toBe('connected');
    await visitors[0]!.client.dispose();
    await waitFor(async () => (await open(stack.gatewayUrl, undefined, address)).outcome === 'connected', { timeoutMs: 5_000, message: 'a place for a visitor' });
  });

  it('caps the new connections from one address in a minute, across both gateways', async () => {
    const address = newAddress();
    const users = await Promise.all(['A', 'B', 'C', 'D', 'E'].map((name) => register(`Office${name}`)));
    for (const [index, user] of users.slice(0, 4).entries()) expect((await open(index % 2 ? second.url : stack.gatewayUrl, user.token, address)).outcome).toBe('connected');
    const refused = await open(second.url, users[4]!.token, address);
    expect(refused.outcome).toMatchObject({ code: 1013, reason: expect.stringMatching(/^RATE_LIMITED: retry in \d+ s$/) });
  });
});
