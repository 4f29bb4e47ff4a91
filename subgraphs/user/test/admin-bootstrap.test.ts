/**
 * Instances of the user subgraph start together in production (two or more behind the load balancer), each
 * told to make sure the operator's admin exists. The one that loses the race to create the account must still
 * start, and there must be one admin.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.js';
import type { RunningServer } from '../../../lib/server/subgraph-server.js';
import { SUBGRAPH_MODULES } from '../../../scripts/subgraphs.js';
import { TEST_RATE_LIMITS } from '../../../test/support/rate-limits.js';
import { type Stack, startStack, TEST_SECRETS } from '../../../test/support/stack.js';

const INSTANCE_COUNT = 3;

let stack: Stack;
let sql: postgres.Sql;
const started: RunningServer[] = [];

beforeAll(async () => {
  stack = await startStack({ services: ['user'], gateway: false });
  sql = postgres(stack.subgraphs.user!.databaseUrl, { max: 1, onnotice: () => {} });
}, 60_000);

afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()));
  await sql?.end();
  await stack?.stop();
});

describe('the admin named in the environment', () => {
  it('is created once when several instances start at the same moment, and every instance starts', async () => {
    const email = `admin-${randomUUID().slice(0, 8)}@example.com`;
    const { startFromEnv } = await SUBGRAPH_MODULES.user!();
    const env = { ...TEST_SECRETS, ...TEST_RATE_LIMITS, NODE_ENV: 'test', LOG_LEVEL: 'silent', PORT: '0', DATABASE_URL: stack.subgraphs.user!.databaseUrl, ADMIN_EMAIL: email, ADMIN_PASSWORD: 'admin bootstrap password' };
    const starts = await Promise.allSettled(Array.from({ length: INSTANCE_COUNT }, () => startFromEnv(env, { log: silentLogger })));
    started.push(...starts.flatMap((start) => (start.status === 'fulfilled' ? [start.value] : [])));

    expect(starts.filter((start) => start.status === 'rejected').map((start) => String((start as PromiseRejectedResult).reason))).toEqual([]);
    expect(await sql`select role from users where lower(email) = ${email}`).toEqual([{ role: 'ADMIN' }]);
    const [wallets] = await sql<{ count: number }[]>`select count(*)::int as count from wallets w join users u on u.id = w.user_id where lower(u.email) = ${email}`;
    expect(wallets!.count).toBe(3);
  });
});
