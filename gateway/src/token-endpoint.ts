import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { readBody, sendJson } from '../../lib/server/http.js';
import type { GatewayContext } from './context.js';

const LOGIN = /* GraphQL */ `
  mutation TokenEndpointLogin($email: String!, $password: String!) {
    login(email: $email, password: $password) { token expiresAt }
  }
`;
const TOKEN_BODY_BYTES_MAX = 4096;

/** RFC 6749 §5.2 error answer; tokens and their errors are never cached. */
const oauthError = (response: ServerResponse, status: number, error: string, description: string) =>
  sendJson(response, status, { error, error_description: description }, { 'cache-control': 'no-store', pragma: 'no-cache' });

/**
 * `POST /token`: the OAuth2 resource-owner password grant (RFC 6749 §4.3), form-encoded, for tools that
 * speak OAuth2 rather than GraphQL. It runs the same `login` mutation through the supergraph.
 */
export async function handleTokenRequest(
  apollo: ApolloServer<GatewayContext>,
  request: IncomingMessage,
  response: ServerResponse,
  context: () => Promise<GatewayContext>,
): Promise<void> {
  if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    return oauthError(response, 400, 'invalid_request', 'Send the token request as application/x-www-form-urlencoded');
  }
  let form: URLSearchParams;
  try {
    form = new URLSearchParams(await readBody(request, TOKEN_BODY_BYTES_MAX));
  } catch {
    return oauthError(response, 400, 'invalid_request', `Token request body must be at most ${TOKEN_BODY_BYTES_MAX} bytes`);
  }
  if (form.get('grant_type') !== 'password') return oauthError(response, 400, 'unsupported_grant_type', 'Only grant_type=password is supported');
  const email = form.get('username');
  const password = form.get('password');
  if (!email || !password) return oauthError(response, 400, 'invalid_request', 'username and password are required');

  const result = await apollo.executeOperation<{ login: { token: string; expiresAt: string } }>(
    { query: LOGIN, variables: { email, password } },
    { contextValue: await context() },
  );
  if (result.body.kind !== 'single') throw new Error('login answered with an incremental result');
  const { data, errors } = result.body.singleResult;
  if (errors?.length || !data?.login) {
    const code = errors?.[0]?.extensions?.code;
    if (code === 'UNAUTHENTICATED') return oauthError(response, 400, 'invalid_grant', 'Email or password is incorrect');
    // A username or password the API refuses as text (a NUL byte, a control character) is the client's mistake.
    if (code === 'BAD_USER_INPUT') return oauthError(response, 400, 'invalid_request', errors?.[0]?.message ?? 'username or password is not acceptable');
    // RFC 6749 has no error for this; `slow_down` is the registered OAuth one (RFC 8628 §3.5), with the wait in Retry-After.
    if (code === 'RATE_LIMITED') {
      const retryAfterSeconds = Number(errors?.[0]?.extensions?.retryAfterSeconds);
      return sendJson(
        response,
        429,
        { error: 'slow_down', error_description: errors?.[0]?.message, retry_after_seconds: retryAfterSeconds },
        { 'cache-control': 'no-store', pragma: 'no-cache', 'retry-after': String(retryAfterSeconds) },
      );
    }
    return oauthError(response, code === 'UPSTREAM_UNAVAILABLE' ? 503 : 500, 'server_error', errors?.[0]?.message ?? 'login failed');
  }
  const expiresInSeconds = Math.max(0, Math.round((Date.parse(data.login.expiresAt) - Date.now()) / 1000));
  sendJson(response, 200, { access_token: data.login.token, token_type: 'Bearer', expires_in: expiresInSeconds }, { 'cache-control': 'no-store', pragma: 'no-cache' });
}
