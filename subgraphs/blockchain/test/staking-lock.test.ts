import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, DEFAULT_DATABASE_LIMITS, type Database } from '../../../lib/db.js';
import { createTestDatabase } from '../../../test/support/database.js';
import { createStakingLock } from '../src/chain/staking.js';

const POOL_SIZE_MAX = 3;

let database: { url: string; drop(): Promise<void> };
// Two pools on one database: two instances of the blockchain subgraph.
let first: Database<Record<string, never>>;
let second: Database<Record<string, never>>;

beforeAll(async () => {
  database = await createTestDatabase('staking_lock');
  const limits = { ...DEFAULT_DATABASE_LIMITS, poolSizeMax: POOL_SIZE_MAX };
  first = connectDatabase(database.url, {}, limits);
  second = connectDatabase(database.url, {}, limits);
});

afterAll(async () => {
  await first?.close();
  await second?.close();
  await database?.drop();
});

/** A task that runs until `finish()`, and says when it started. */
function heldTask(name: string, log: string[]) {
  let finish = () => {};
  let started = () => {};
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  const task = () =>
    new Promise<string>((resolve) => {
      log.push(`${name} in`);
      started();
      finish = () => {
        log.push(`${name} out`);
        resolve(name);
      };
    });
  return { task, started: startedPromise, finish: () => finish() };
}

describe('the staking lock', () => {
  it("runs one user's calls one at a time across two instances, and refuses another user's call when the instance is at its cap", async () => {
    const log: string[] = [];
    const [onFirst, onSecond] = [createStakingLock(first.sql, POOL_SIZE_MAX), createStakingLock(second.sql, POOL_SIZE_MAX)];
    const userId = '00000000-0000-4000-8000-000000000001';
    const a = heldTask('a', log);
    const b = heldTask('b', log);
    const running = onFirst(userId, a.task);
    await a.started;
    const waiting = onSecond(userId, b.task);
    // A pool of three runs one user's workflows at a time: another user's call is refused, not queued.
    expect(() => onFirst('00000000-0000-4000-8000-000000000002', async () => 'c')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    a.finish();
    await b.started;
    b.finish();
    expect(await Promise.all([running, waiting])).toEqual(['a', 'b']);
    expect(log).toEqual(['a in', 'a out', 'b in', 'b out']);
    // The cap counts users with calls under way: with none left, another user's call runs.
    expect(await onFirst('00000000-0000-4000-8000-000000000002', async () => 'c')).toBe('c');
  });
});
