import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/support/database.js';
import { connectDatabase, DEFAULT_DATABASE_LIMITS, type Database, withSessionLock } from '../db.js';

const STATEMENT_TIMEOUT_MS = 500;

let database: { url: string; drop(): Promise<void> };
// Two pools on one database: two instances of a service.
let first: Database<Record<string, never>>;
let second: Database<Record<string, never>>;

beforeAll(async () => {
  database = await createTestDatabase('session_lock');
  const limits = { ...DEFAULT_DATABASE_LIMITS, poolSizeMax: 2, statementTimeoutMs: STATEMENT_TIMEOUT_MS };
  first = connectDatabase(database.url, {}, limits);
  second = connectDatabase(database.url, {}, limits);
});

afterAll(async () => {
  await first?.close();
  await second?.close();
  await database?.drop();
});

describe('withSessionLock', () => {
  it('runs the tasks of one key one after another across two pools, and lets the lock go after each', async () => {
    const log: string[] = [];
    const task = (name: string) => async (connection: postgres.ReservedSql) => {
      log.push(`${name} in`);
      // Longer than a round trip, shorter than the statement time-out the waiters are bounded by.
      await connection`select pg_sleep(0.1)`;
      log.push(`${name} out`);
    };
    await Promise.all([
      withSessionLock(first.sql, 'test:one-key', 'busy', task('a')),
      withSessionLock(second.sql, 'test:one-key', 'busy', task('b')),
      withSessionLock(first.sql, 'test:one-key', 'busy', task('c')),
    ]);
    expect(log).toHaveLength(6);
    for (let index = 0; index < log.length; index += 2) expect(log[index + 1]).toBe(log[index]!.replace(' in', ' out'));
    // pg_locks is the whole server's: other files' services hold advisory locks in their own databases.
    const [held] = await first.sql<{ count: number }[]>`select count(*)::int as count from pg_locks
      where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`;
    expect(held?.count).toBe(0);
  });

  it('refuses a waiter with RATE_LIMITED once it has waited the statement time-out, without running its task', async () => {
    let releaseHolder = () => {};
    const holderRelease = new Promise<void>((resolve) => (releaseHolder = resolve));
    let holding = () => {};
    const holderHolds = new Promise<void>((resolve) => (holding = resolve));
    const holder = withSessionLock(first.sql, 'test:busy-key', 'busy', async () => {
      holding();
      await holderRelease;
    });
    await holderHolds;
    let ran = false;
    const waiter = withSessionLock(second.sql, 'test:busy-key', 'Another call is under way; try again shortly', async () => void (ran = true));
    await expect(waiter).rejects.toMatchObject({ code: 'RATE_LIMITED', message: 'Another call is under way; try again shortly' });
    expect(ran).toBe(false);
    releaseHolder();
    await holder;
    // The refused waiter's connection went back to its pool usable.
    expect(await withSessionLock(second.sql, 'test:busy-key', 'busy', async (connection) => (await connection<{ one: number }[]>`select 1 as one`)[0]?.one)).toBe(1);
  });
});
