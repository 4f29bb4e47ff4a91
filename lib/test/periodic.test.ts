import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../db.js';
import { silentLogger } from '../log.js';
import { startPeriodic } from '../server/periodic.js';
import { createTestDatabase } from '../../test/support/database.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let connections: ReturnType<typeof connectDatabase<Record<string, never>>>[];

beforeAll(async () => {
  database = await createTestDatabase('periodic');
  // Two connection pools: two instances of a service.
  connections = [connectDatabase(database.url, {}), connectDatabase(database.url, {})];
});
afterAll(async () => {
  for (const connection of connections ?? []) await connection.close();
  await database?.drop();
});

describe('an exclusive periodic task', () => {
  it('runs a pass in one instance at a time; the other skips while the first holds the lock', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const [first, second] = connections.map((connection, index) =>
      startPeriodic({
        what: `instance ${index}`,
        intervalMs: 60_000,
        log: silentLogger,
        exclusive: { db: connection.db, lock: 'periodic-test', skipped: 'skipped' },
        pass: async () => {
          if (index === 0) {
            entered();
            await held;
          }
          return `ran ${index}`;
        },
      }),
    ) as [ReturnType<typeof startPeriodic<string>>, ReturnType<typeof startPeriodic<string>>];
    const firstPass = first.runOnce();
    await inside;
    expect(await second.runOnce()).toBe('skipped');
    release();
    expect(await firstPass).toBe('ran 0');
    // The lock goes with the first pass's transaction.
    expect(await second.runOnce()).toBe('ran 1');
    await Promise.all([first.stop(), second.stop()]);
  });
});

describe('waking a periodic task', () => {
  it('runs a pass at once instead of at the interval, and once more after a pass that was under way', async () => {
    const passes: number[] = [];
    let release!: () => void;
    let passStarted!: () => void;
    let started = new Promise<void>((resolve) => {
      passStarted = resolve;
    });
    const task = startPeriodic({
      what: 'woken task',
      intervalMs: 3_600_000,
      log: silentLogger,
      pass: async () => {
        passes.push(passes.length + 1);
        passStarted();
        if (passes.length === 1) await new Promise<void>((resolve) => (release = resolve));
      },
    });
    task.wake();
    await started;
    started = new Promise<void>((resolve) => {
      passStarted = resolve;
    });
    // Woken twice during the first pass: one more pass follows it, not two.
    task.wake();
    task.wake();
    release();
    await started;
    await task.runOnce();
    expect(passes).toEqual([1, 2, 3]);
    await task.stop();
  });
});
