/**
 * `npx tsx bench/account-check/run.ts`: what the gateway's check of token holders (gateway/src/account-check.ts)
 * costs. Two gateways over the same subgraphs, one with the check and one without, take turns under the same
 * closed-loop load of `me { wallets { currency balance } }`, so drift of the machine falls on both alike.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { runClosedLoop } from '../ledger/closed-loop.js';
import { errorCodeOf, expectData, postGraphQL } from '../ledger/graphql.js';
import { startPlatform } from '../ledger/platform.js';

const USERS = 50;
const CLIENTS = 16;
const ROUNDS = 6;
const WARMUP_MS = 1_000;
const MEASURE_MS = 5_000;
const ME = /* GraphQL */ `{ me { wallets { currency balance } } }`;
const REGISTER = /* GraphQL */ `mutation ($input: RegisterInput!) { register(input: $input) { token } }`;

const workDir = await mkdtemp(join(tmpdir(), 'ecocoin-bench-'));
await chmod(workDir, 0o755);
const platform = await startPlatform(join(workDir, 'postgres'));
try {
  const tokens: string[] = [];
  for (let index = 0; index < USERS; index++) {
    const input = { email: `bench-${randomUUID()}@example.com`, password: 'long enough password', displayName: `Bench ${index}`, role: 'BUYER' };
    tokens.push((await expectData<{ register: { token: string } }>(platform.gatewayUrl, REGISTER, { input })).register.token);
  }
  const without = await platform.startGateway({ accounts: { confirm: async (identity) => identity } });
  const gateways = { 'with the check': platform.gatewayUrl, 'without the check': without.url };
  const perSecond: Record<string, number[]> = { 'with the check': [], 'without the check': [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first, so neither always follows the other.
    const order = round % 2 === 0 ? Object.entries(gateways) : Object.entries(gateways).reverse();
    for (const [name, url] of order) {
      let next = 0;
      const result = await runClosedLoop({
        clients: CLIENTS,
        warmupMs: WARMUP_MS,
        measureMs: MEASURE_MS,
        successOutcome: 'ok',
        request: async () => {
          const token = tokens[next++ % tokens.length] as string;
          try {
            const answer = await postGraphQL(url, ME, {}, { authorization: `Bearer ${token}` });
            return errorCodeOf(answer) ?? 'ok';
          } catch (error) {
            return (error as Error).message;
          }
        },
      });
      perSecond[name]?.push(result.perSecond);
      process.stdout.write(`round ${round + 1} ${name}: ${result.perSecond.toFixed(0)} req/s, p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms, failures ${JSON.stringify(result.failures)}\n`);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  for (const [name, values] of Object.entries(perSecond)) process.stdout.write(`${name}: median ${median(values).toFixed(0)} req/s over ${values.length} rounds (${values.map((value) => value.toFixed(0)).join(', ')})\n`);
} finally {
  await platform.stop();
  await rm(workDir, { recursive: true, force: true });
}
