import { randomUUID } from 'node:crypto';
import { print } from 'graphql';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../lib/auth/internal-credential.js';
import { issueUserToken } from '../../lib/auth/user-token.js';
import { createEcoCoinClient, type EcoCoinClient, LoginDocument, MeDocument, type RegisterInput, RegisterDocument, type RegistrationRole } from '../../sdk/index.js';
import { postGraphQL, type Stack, startStack, TEST_SECRETS } from '../../test/support/stack.js';
import { rejection } from '../../test/support/sdk.js';

// Documents a typed client cannot send (values outside the schema's types) go as text.
const REGISTER = print(RegisterDocument);
const ME = print(MeDocument);

const tokenSettings = { secret: TEST_SECRETS.JWT_SECRET, issuer: 'ecocoin', audience: 'ecocoin-api', ttlSeconds: 3600 };
let stack: Stack;
let client: EcoCoinClient;
const uniqueEmail = (name: string) => `${name}-${randomUUID().slice(0, 8)}@example.com`;
const signedIn = (token: string) => createEcoCoinClient({ url: stack.gatewayUrl, token });

async function register(name: string, role: RegistrationRole = 'BUYER') {
  const email = uniqueEmail(name);
  const { register } = await client.request(RegisterDocument, { input: { email, password: 'correct horse battery', displayName: name, role } });
  return { email, token: register.token, user: register.user };
}


beforeAll(async () => {
  // Accounts are the user subgraph's; the rest are left down, and /ready must say so.
  stack = await startStack({ services: ['user'] });
  client = createEcoCoinClient({ url: stack.gatewayUrl });
});
afterAll(async () => {
  await stack?.stop();
});

describe('register, login and me through the gateway', () => {
  it('registers a buyer with USD, ETH and CARBON wallets at zero and signs them in', async () => {
    const { token, user } = await register('Ada');
    expect(user.role).toBe('BUYER');
    expect(user.wallets.map((wallet) => wallet.currency)).toEqual(['USD', 'ETH', 'CARBON']);
    expect(user.wallets.map((wallet) => wallet.balance)).toEqual(['0.00', '0.000000000000000000', '0.000000000000000000']);
    const { me } = await signedIn(token).request(MeDocument);
    expect(me.id).toBe(user.id);
    expect(me.wallets.every((wallet) => wallet.owner.id === user.id)).toBe(true);
  });

  it('logs in with the email in any case and answers the same user', async () => {
    const { email, user } = await register('Grace', 'SELLER');
    const { login } = await client.request(LoginDocument, { email: email.toUpperCase(), password: 'correct horse battery' });
    expect(login.user.id).toBe(user.id);
  });

  it('issues an OAuth2 token at POST /token for the password grant', async () => {
    const { email, user } = await register('Tool');
    const response = await fetch(stack.gatewayUrl.replace('/graphql', '/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: email, password: 'correct horse battery' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBeGreaterThan(3500);
    expect((await signedIn(body.access_token).request(MeDocument)).me.id).toBe(user.id);
  });

  it('answers /token errors in OAuth2 form', async () => {
    const tokenUrl = stack.gatewayUrl.replace('/graphql', '/token');
    const form = (fields: Record<string, string>) =>
      fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
    const wrong = await form({ grant_type: 'password', username: 'nobody@example.com', password: 'whatever-123' });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    const grant = await form({ grant_type: 'client_credentials' });
    expect(await grant.json()).toMatchObject({ error: 'unsupported_grant_type' });
    const missing = await form({ grant_type: 'password', username: 'a@example.com' });
    expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('registration input is checked and a refusal stores nothing', () => {
  const cases: [string, RegisterInput, string][] = [
    ['an invalid email', { email: 'not-an-email', password: 'long enough pw', displayName: 'X', role: 'BUYER' }, 'email'],
    ['a password shorter than 10 characters', { email: uniqueEmail('short'), password: 'short', displayName: 'X', role: 'BUYER' }, 'password'],
    ['an empty display name', { email: uniqueEmail('empty'), password: 'long enough pw', displayName: '   ', role: 'BUYER' }, 'displayName'],
  ];
  it.each(cases)('refuses %s with BAD_USER_INPUT naming the field', async (_name, input, field) => {
    expect(await rejection(client.request(RegisterDocument, { input }))).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect((await rejection(client.request(LoginDocument, { email: input.email, password: input.password }))).code).toBe('UNAUTHENTICATED');
  });

  it('refuses an unknown role, and ADMIN, before any resolver runs', async () => {
    for (const role of ['KING', 'ADMIN']) {
      const result = await stack.graphql(REGISTER, { input: { email: uniqueEmail('role'), password: 'long enough pw', displayName: 'X', role } });
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('refuses a duplicate email whatever its case, and keeps the first account', async () => {
    const { email, user } = await register('First');
    const again = client.request(RegisterDocument, { input: { email: email.toUpperCase(), password: 'another password', displayName: 'Second', role: 'SELLER' } });
    expect(await rejection(again)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
    const { login } = await client.request(LoginDocument, { email, password: 'correct horse battery' });
    expect(login.user.id).toBe(user.id);
  });

  it('gives a wrong password and an unknown email the same answer', async () => {
    const { email } = await register('Same');
    const wrongPassword = await rejection(client.request(LoginDocument, { email, password: 'wrong password!' }));
    const unknownEmail = await rejection(client.request(LoginDocument, { email: uniqueEmail('ghost'), password: 'wrong password!' }));
    expect(wrongPassword.errors).toEqual(unknownEmail.errors);
    expect(wrongPassword.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an unknown enum value at validation, without a stack trace', async () => {
    const result = await stack.graphql(/* GraphQL */ `query { me { wallet(currency: DOLLARS) { balance } } }`, {});
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(result)).not.toMatch(/stacktrace|at .*\.ts/);
  });
});

describe('tokens', () => {
  it('asks for sign-in when `me` has no token', async () => {
    const result = await stack.graphql(ME);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(result.data).toBeNull();
    expect((await rejection(client.request(MeDocument))).code).toBe('UNAUTHENTICATED');
  });

  it('refuses expired, garbage, foreign-key and alg:none tokens with 401 UNAUTHENTICATED', async () => {
    const { user } = await register('Tokens');
    const identity = { userId: user.id, role: 'BUYER' as const };
    const expired = (await issueUserToken(identity, tokenSettings, new Date(Date.now() - 2 * 3600_000))).token;
    const foreign = (await issueUserToken(identity, { ...tokenSettings, secret: 'another-secret-that-is-long-enough-000000' })).token;
    const wrongAudience = (await issueUserToken(identity, { ...tokenSettings, audience: 'someone-else' })).token;
    const none = new UnsecuredJWT({ role: 'ADMIN' }).setSubject(user.id).setIssuer('ecocoin').setAudience('ecocoin-api').setIssuedAt().setExpirationTime('1h').encode();
    const hs512 = await new SignJWT({ role: 'BUYER' })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject(user.id)
      .setIssuer('ecocoin')
      .setAudience('ecocoin-api')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(TEST_SECRETS.JWT_SECRET));
    for (const token of [expired, foreign, wrongAudience, none, hs512, 'garbage', 'a.b.c']) {
      const result = await stack.graphql(ME, {}, token);
      expect(result.status, token).toBe(401);
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(result.data).toBeUndefined();
    }
    expect((await stack.graphql(ME, {}, expired)).errors?.[0]?.message).toMatch(/expired/);
  });
});

describe('one user never sees another', () => {
  it('refuses user(id) for someone else with FORBIDDEN and returns one’s own', async () => {
    const alice = await register('Alice');
    const bob = await register('Bob');
    const other = await stack.graphql(/* GraphQL */ `query ($id: ID!) { user(id: $id) { id email } }`, { id: bob.user.id }, alice.token);
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(other.data)).not.toContain(bob.user.email);
    const own = await stack.graphql(/* GraphQL */ `query ($id: ID!) { user(id: $id) { id email } }`, { id: alice.user.id }, alice.token);
    expect(own.data?.user.email).toBe(alice.email);
  });

  it('answers _entities for B’s User and Wallet with nothing private when A asks, even with the gateway credential', async () => {
    const alice = await register('Alice2');
    const bob = await register('Bob2');
    const credential = await new InternalCredential(TEST_SECRETS.GATEWAY_SECRET).mint({ kind: 'gateway', identity: { userId: alice.user.id, role: 'BUYER' } });
    const entities = /* GraphQL */ `
      query ($representations: [_Any!]!) {
        _entities(representations: $representations) {
          ... on User { id email wallets { balance } }
          ... on Wallet { id balance owner { email } }
        }
      }
    `;
    const representations = [
      { __typename: 'User', id: bob.user.id },
      { __typename: 'Wallet', id: bob.user.wallets[0]!.id },
      { __typename: 'User', id: alice.user.id },
      { __typename: 'Wallet', id: alice.user.wallets[0]!.id },
      { __typename: 'User', id: 'not-a-uuid' },
    ];
    const result = await postGraphQL(stack.userUrl, entities, { representations }, { [INTERNAL_CREDENTIAL_HEADER]: credential });
    const [bobUser, bobWallet, aliceUser, aliceWallet, invalid] = result.data!._entities;
    expect(bobUser).toBeNull();
    expect(bobWallet).toBeNull();
    expect(invalid).toBeNull();
    expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(result)).not.toContain(bob.email);
    expect(aliceUser.email).toBe(alice.email);
    expect(aliceWallet.owner.email).toBe(alice.email);
  });

  it('shows another user’s public display name, the one thing a counterparty may see', async () => {
    const alice = await register('Alice3');
    const bob = await register('Bob3');
    const credential = await new InternalCredential(TEST_SECRETS.GATEWAY_SECRET).mint({ kind: 'gateway', identity: { userId: alice.user.id, role: 'BUYER' } });
    const profile = /* GraphQL */ `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id displayName } } }`;
    const result = await postGraphQL(stack.userUrl, profile, { representations: [{ __typename: 'User', id: bob.user.id }] }, { [INTERNAL_CREDENTIAL_HEADER]: credential });
    expect(result.data!._entities).toEqual([{ id: bob.user.id, displayName: 'Bob3' }]);
    const anonymous = await new InternalCredential(TEST_SECRETS.GATEWAY_SECRET).mint({ kind: 'gateway', identity: null });
    const signedOut = await postGraphQL(stack.userUrl, profile, { representations: [{ __typename: 'User', id: bob.user.id }] }, { [INTERNAL_CREDENTIAL_HEADER]: anonymous });
    expect(signedOut.data!._entities).toEqual([null]);
  });

  it('answers 401 to a request sent straight to a subgraph without the gateway credential', async () => {
    const bare = await postGraphQL(stack.userUrl, ME);
    expect(bare.status).toBe(401);
    expect(bare.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const forged = await new InternalCredential('a-different-secret-that-is-long-enough-00').mint({ kind: 'gateway', identity: null });
    expect((await postGraphQL(stack.userUrl, ME, {}, { [INTERNAL_CREDENTIAL_HEADER]: forged })).status).toBe(401);
    // A client-sent identity header is not a credential.
    expect((await postGraphQL(stack.userUrl, ME, {}, { 'x-user-id': randomUUID() })).status).toBe(401);
  });
});

describe('gateway endpoints', () => {
  it('serves /health, /ready (not ready while a subgraph is down, naming it) and the Sandbox landing page', async () => {
    const base = stack.gatewayUrl.replace('/graphql', '');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, subgraphs: { user: 'ok', price: 'unavailable', transaction: 'unavailable', blockchain: 'unavailable', notification: 'unavailable' } });
    const landing = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
    expect(await landing.text()).toContain('embeddable-sandbox');
  });

  it('refuses a query nested deeper than the limit', async () => {
    const { token } = await register('Deep');
    const deep = `query { me { wallets { owner { wallets { owner { wallets { owner { wallets { owner { wallets { owner { wallets { owner { id } } } } } } } } } } } } } }`;
    const result = await stack.graphql(deep, {}, token);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0]?.message).toMatch(/depth limit of 10 exceeded/);
    expect(result.data).toBeUndefined();
  });
});

describe('WebSocket on a subgraph', () => {
  it('closes a graphql-ws connection without the gateway credential with 4403', async () => {
    const { createClient } = await import('graphql-ws');
    const { default: WebSocket } = await import('ws');
    const closeCode = await new Promise<number>((resolve) => {
      const client = createClient({ url: stack.userUrl.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, on: { closed: (event) => resolve((event as { code: number }).code) } });
      client.on('closed', () => void client.dispose());
    });
    expect(closeCode).toBe(4403);
  });
});
