/**
 * `npx tsx bench/login-load/run.ts`: how much a crowd of sign-ins slows everyone else. 40 users sign in at once
 * (bcrypt cost 10 each, in the user subgraph) while one client times a public `price` query through the gateway,
 * one after another; the same query alone first, as the baseline. The whole platform runs in this process, as
 * under `npm start`.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform } from '../ledger/platform.js';

const LOGINS = 40;
const BASELINE_QUERIES = 30;
const PASSWORD = 'login-load-password';
const PRICE = /* GraphQL */ `{ price(symbol: MCO2) { value } }`;
const LOGIN = /* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`;
const REGISTER = /* GraphQL */ `mutation ($input: RegisterInput!) { register(input: $input) { token } }`;

async function graphql(url: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: unknown; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function timedMs(work: () => Promise<unknown>): Promise<number> {
  const startedMs = performance.now();
  await work();
  return performance.now() - startedMs;
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? 0;
const describe = (values: number[]) =>
  `n=${values.length} median ${percentile(values, 50).toFixed(1)} ms, p95 ${percentile(values, 95).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;

const dataDir = await mkdtemp(join(tmpdir(), 'ecocoin-login-load-'));
// When run as root, PostgreSQL runs as its own user and must be able to enter this folder.
await chmod(dataDir, 0o755);
const platform = await startPlatform(join(dataDir, 'postgres'));
try {
  const emails = Array.from({ length: LOGINS }, (_, index) => `login-load-${index}-${Date.now()}@example.com`);
  for (const email of emails) await graphql(platform.gatewayUrl, REGISTER, { input: { email, password: PASSWORD, displayName: 'Load', role: 'BUYER' } });
  for (let warm = 0; warm < 5; warm += 1) await graphql(platform.gatewayUrl, PRICE);

  const alone: number[] = [];
  for (let query = 0; query < BASELINE_QUERIES; query += 1) alone.push(await timedMs(() => graphql(platform.gatewayUrl, PRICE)));

  const during: number[] = [];
  let loginsDone = false;
  const loginsStartedMs = performance.now();
  const loginMs: number[] = [];
  const loginErrors: string[] = [];
  const logins = Promise.all(
    emails.map(async (email) => {
      try {
        loginMs.push(await timedMs(() => graphql(platform.gatewayUrl, LOGIN, { email, password: PASSWORD })));
      } catch (error) {
        loginErrors.push((error as Error).message);
      }
    }),
  ).finally(() => (loginsDone = true));
  while (!loginsDone) during.push(await timedMs(() => graphql(platform.gatewayUrl, PRICE)));
  await logins;
  const loginsMs = performance.now() - loginsStartedMs;

  process.stdout.write(
    [
      `price alone:             ${describe(alone)}`,
      `price during ${LOGINS} logins: ${describe(during)}`,
      `${LOGINS} concurrent logins took ${loginsMs.toFixed(0)} ms in all; each: ${describe(loginMs)}`,
      `failed logins: ${loginErrors.length}${loginErrors[0] ? ` (first: ${loginErrors[0]})` : ''}`,
      '',
    ].join('\n'),
  );
} finally {
  await platform.stop();
  await rm(dataDir, { recursive: true, force: true });
}
