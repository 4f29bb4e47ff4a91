import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let database: { url: string; drop(): Promise<void> };

beforeAll(async () => {
  database = await createTestDatabase('migrate');
});

afterAll(async () => {
  await database?.drop();
});

/** Runs the migrate step as docker-compose.yml does; resolves with its exit code and output. */
function migrate(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts', ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('npm run migrate', () => {
  it("applies a subgraph's migrations and exits, and a second run changes nothing", async () => {
    const first = await migrate(['transaction'], { DATABASE_URL: database.url });
    expect(first).toEqual({ code: 0, output: 'transaction: migrations applied\n' });
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const columns = await sql<{ column_name: string }[]>`select column_name from information_schema.columns where table_name = 'outbox'`;
      expect(columns.map((column) => column.column_name)).toContain('request_id');
      const applied = async () => (await sql<{ count: number }[]>`select count(*)::int as count from drizzle.__drizzle_migrations`)[0]?.count;
      const appliedOnce = await applied();
      expect((await migrate(['transaction'], { DATABASE_URL: database.url })).code).toBe(0);
      expect(await applied()).toBe(appliedOnce);
    } finally {
      await sql.end();
    }
  }, 60_000);

  it('refuses an unknown service and a missing DATABASE_URL, naming what is wrong', async () => {
    const unknown = await migrate(['ledger'], { DATABASE_URL: database.url });
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('one of: user, price');
    const missing = await migrate(['user'], { DATABASE_URL: '' });
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('DATABASE_URL');
  }, 60_000);
});
