/**
 * The cluster's fault tests restart PostgreSQL under running services: the same server comes back on the same port
 * with its data, a throwaway server still deletes its folder when it stops for good, and a connection pool that
 * lived through the restart works again.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/infra/ports.js';
import { startEmbeddedPostgres } from '../../scripts/infra/postgres.js';
import { waitFor } from '../support/wait.js';

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'ecocoin-pg-restart-'));
  // When tests run as root, PostgreSQL runs as its own user and must be able to enter this folder.
  await chmod(workDir, 0o755);
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('an embedded PostgreSQL server', () => {
  it('restarts on the same port with its data, and a throwaway one removes its folder when stopped', async () => {
    const dataDir = join(workDir, 'pg');
    const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
    await server.createDatabaseIfMissing('restart_db');
    const sql = postgres(server.url('restart_db'), { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      await sql`create table kept (id int primary key)`;
      await sql`insert into kept values (1)`;
      const [before] = await sql<{ started: Date }[]>`select pg_postmaster_start_time() as started`;

      await server.restart();
      // The pool's connection died with the server; the next query connects again.
      const rows = await waitFor(() => sql<{ id: number }[]>`select id from kept`, { timeoutMs: 10_000, message: 'a query after the restart' });
      expect(rows.map((row) => row.id)).toEqual([1]);
      const [after] = await sql<{ started: Date }[]>`select pg_postmaster_start_time() as started`;
      expect(after!.started.getTime()).toBeGreaterThan(before!.started.getTime());
    } finally {
      await sql.end({ timeout: 5 });
      await server.stop();
    }
    expect(existsSync(dataDir)).toBe(false);
  });
});
