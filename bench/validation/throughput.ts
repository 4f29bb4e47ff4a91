import { randomUUID } from 'node:crypto';
import { type LoadResult, runClosedLoop } from '../ledger/closed-loop.js';
import { errorCodeOf, expectData, postGraphQL } from '../ledger/graphql.js';

/** The query measured: a signed-in user's balances, one subgraph fetch, as a wallet screen asks for them. */
export const ME_QUERY = /* GraphQL */ `query Me { me { wallets { currency balance } } }`;
const REGISTER = /* GraphQL */ `mutation ($input: RegisterInput!) { register(input: $input) { token } }`;
const WARMUP_MS = 1_000;

export interface ThroughputRound {
  round: number;
  limits: 'on' | 'off';
  result: LoadResult;
}

/**
 * `rounds` rounds of the `me` query on each gateway, alternating (on, off, on, off, …) so a change in the
 * machine's load falls on both alike; both gateways run in this process over the same subgraphs.
 */
export async function measureThroughput(gateways: { on: string; off: string }, settings: { rounds: number; roundSeconds: number; connections: number }, progress: (line: string) => void): Promise<ThroughputRound[]> {
  const input = { email: `bench-${randomUUID().slice(0, 8)}@example.com`, password: 'bench password 123', displayName: 'Bench', role: 'BUYER' };
  const { register } = await expectData<{ register: { token: string } }>(gateways.on, REGISTER, { input });
  const headers = { authorization: `Bearer ${register.token}` };
  const rounds: ThroughputRound[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    for (const limits of ['on', 'off'] as const) {
      const url = gateways[limits];
      const result = await runClosedLoop({
        clients: settings.connections,
        warmupMs: WARMUP_MS,
        measureMs: settings.roundSeconds * 1000,
        successOutcome: 'ok',
        request: async () => {
          try {
            const answer = await postGraphQL<{ me: unknown }>(url, ME_QUERY, {}, headers);
            return answer.data?.me ? 'ok' : (errorCodeOf(answer) ?? 'NO_DATA');
          } catch (error) {
            return (error as Error).name;
          }
        },
      });
      progress(`round ${round}, limits ${limits}: ${result.perSecond.toFixed(1)} requests/s, p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms`);
      rounds.push({ round, limits, result });
    }
  }
  return rounds;
}
