/**
 * The test stack (test/support/stack.ts) itself: a part that fails to start leaves nothing behind, neither a
 * listener, nor a process, nor a database.
 */
import postgres from 'postgres';
import { describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { acceptsConnections, childProcesses } from '../support/listeners.js';
import { type StackOptions, startStack } from '../support/stack.js';

/** startStack with these options, which must fail; what it had started, what it made, and the error. */
async function failedStart(options: StackOptions) {
  const listening: { part: string; url: string }[] = [];
  const databases: string[] = [];
  const error = await startStack({
    ...options,
    onListening: (part, url) => listening.push({ part, url }),
    createDatabase: async (prefix) => {
      const database = await createTestDatabase(prefix);
      databases.push(new URL(database.url).pathname.slice(1));
      return database;
    },
  }).then(
    async (stack) => {
      await stack.stop();
      return undefined;
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(Error);
  return { error: error as Error, listening, databases };
}

async function existingDatabases(names: readonly string[]): Promise<string[]> {
  const admin = postgres(inject('postgresUrlTemplate').replace('{db}', 'postgres'), { max: 1, onnotice: () => {} });
  try {
    const rows = await admin<{ datname: string }[]>`select datname from pg_database where datname in ${admin(names)}`;
    return rows.map((row) => row.datname);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

describe('startStack when a part fails to start', () => {
  it('stops the chain and the subgraphs already up and drops every database it made, when a later subgraph fails', async () => {
    const processesBefore = childProcesses();
    const { error, listening, databases } = await failedStart({
      services: ['user', 'blockchain', 'transaction'],
      serviceEnv: { transaction: { RECOVERY_INTERVAL_MS: 'soon' } },
    });
    expect(error.message).toContain('RECOVERY_INTERVAL_MS');
    expect(listening.map(({ part }) => part)).toEqual(['anvil', 'user', 'blockchain']);
    for (const { part, url } of listening) expect({ part, listening: await acceptsConnections(url) }).toEqual({ part, listening: false });
    expect(childProcesses()).toEqual(processesBefore);
    expect(databases).toHaveLength(3);
    expect(await existingDatabases(databases)).toEqual([]);
  }, 60_000);

  it('stops the subgraphs and drops their databases and its own when the gateway fails', async () => {
    const { error, listening, databases } = await failedStart({ services: ['user', 'price'], gatewayEnv: { QUERY_DEPTH_MAX: 'deep' } });
    expect(error.message).toContain('QUERY_DEPTH_MAX');
    expect(listening.map(({ part }) => part)).toEqual(['user', 'price']);
    for (const { part, url } of listening) expect({ part, listening: await acceptsConnections(url) }).toEqual({ part, listening: false });
    expect(databases.map((name) => name.split('_')[0])).toEqual(['user', 'price', 'gateway']);
    expect(await existingDatabases(databases)).toEqual([]);
  }, 60_000);
});
