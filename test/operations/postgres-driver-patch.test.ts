import { execFileSync, spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';

/**
 * patches/postgres+3.4.9.patch against the real server: what the published driver does when PostgreSQL ends a
 * connection under a transaction, and what the patched one does. The crash happens in a timer callback, so it
 * is shown in a child process.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const child = join(root, 'test/support/terminated-transaction-child.mjs');
const installedDriver = join(root, 'node_modules/postgres');

let database: { url: string; drop(): Promise<void> };
let publishedCopy: string;
let admin: postgres.Sql;

beforeAll(async () => {
  database = await createTestDatabase('driver_patch');
  admin = postgres(database.url, { max: 1, onnotice: () => {} });
  // The driver as npm publishes it: a copy of the installed one with the patch taken out again.
  publishedCopy = await mkdtemp(join(tmpdir(), 'postgres-published-'));
  await cp(installedDriver, join(publishedCopy, 'node_modules/postgres'), { recursive: true });
  execFileSync('git', ['apply', '--reverse', join(root, 'patches/postgres+3.4.9.patch')], { cwd: publishedCopy });
});

afterAll(async () => {
  await admin?.end({ timeout: 5 });
  await database?.drop();
  if (publishedCopy) await rm(publishedCopy, { recursive: true, force: true });
});

function runChild(driverEntry: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const process_ = spawn(process.execPath, [child, driverEntry, database.url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  process_.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
  process_.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  return new Promise((resolve) => process_.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Runs of the published driver before the test gives up on seeing the nextWrite crash. */
const PUBLISHED_RUNS_MAX = 5;

const terminate = (pid: number) => admin`select pg_terminate_backend(${pid})`;

describe('postgres.js with a connection the server terminates', () => {
  // Which of the two crashes comes first is a race between the deferred write and the socket's close (a loaded
  // machine saw the termination error escape uncaught instead): every run must die, and the nextWrite TypeError
  // must show within a bounded number of runs.
  it('as published, dies of a TypeError in nextWrite when a transaction loses its connection', async () => {
    const runs: { code: number | null; stderr: string }[] = [];
    const sawTypeError = () => runs.some((run) => run.stderr.includes("TypeError: Cannot read properties of null (reading 'write')") && run.stderr.includes('at Immediate.nextWrite'));
    while (runs.length < PUBLISHED_RUNS_MAX && !sawTypeError()) runs.push(await runChild(join(publishedCopy, 'node_modules/postgres/src/index.js')));
    for (const run of runs) expect(run.code, run.stderr).toBe(1);
    expect(sawTypeError(), runs.map((run) => run.stderr.split('\n').slice(0, 6).join('\n')).join('\n---\n')).toBe(true);
  }, 60_000);

  // The Cloudflare build (cf/) imports cloudflare:sockets and cannot run on Node; that it is patched too is shown by
  // the reverse apply in beforeAll, which fails unless every hunk of the patch is in the installed files.
  it.each(['src/index.js', 'cjs/src/index.js'])('patched (%s), rejects the transaction with CONNECTION_CLOSED and serves the next query', async (entry) => {
    const run = await runChild(join(installedDriver, entry));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ transaction: 'rejected CONNECTION_CLOSED', after: 1 });
  });

  it('settles a query written to a reserved connection after its backend ended with CONNECTION_CLOSED', async () => {
    let closedConnections = 0;
    const sql = postgres(database.url, { max: 2, onnotice: () => {}, onclose: () => void (closedConnections += 1) });
    try {
      const reserved = await sql.reserve();
      const pid = (await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
      await terminate(pid);
      await waitFor(() => closedConnections === 1, { timeoutMs: 5_000, message: 'the reserved connection to close' });
      // A small write is deferred with setImmediate; the socket is null when it runs.
      await expect(reserved`select 1`).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      expect((await sql`select 2 as two`)[0]).toEqual({ two: 2 });
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it('keeps a pool of one usable after a transaction sends a large statement on its closed connection', async () => {
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      let pid: number | null = null;
      let lateStatement: Promise<unknown> = Promise.resolve();
      const transaction = sql.begin(async (tx) => {
        pid = (await tx<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
        await tx`select pg_sleep(5)`.catch(() => {});
        // 1024 bytes or more are written at once rather than deferred.
        lateStatement = tx.unsafe(`select 1 /* ${'x'.repeat(2048)} */`);
        await lateStatement;
      });
      await waitFor(() => pid !== null, { timeoutMs: 5_000, message: 'the transaction to start' });
      const transactionRejected = expect(transaction).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      await terminate(pid!);
      await transactionRejected;
      await expect(lateStatement).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      expect((await sql`select 1 as one`)[0]).toEqual({ one: 1 });
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it("gives the first query after a reconnect its own answer, not the old backend's 57P01", async () => {
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const pid = (await sql<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
      const slow = sql`select pg_sleep(5)`.execute();
      const slowRejected = expect(slow).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      await waitFor(async () => (await admin`select 1 from pg_stat_activity where pid = ${pid} and query like '%pg_sleep%'`).length === 1, { timeoutMs: 5_000, message: 'the slow query to run' });
      await terminate(pid);
      await slowRejected;
      expect((await sql`select 1 as one`)[0]).toEqual({ one: 1 });
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it('does not let a transaction whose connection ended write into, or commit, the transaction that reuses it', async () => {
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    await sql`create table reuse_probe (tag text)`;
    try {
      let pid: number | null = null;
      let resume!: () => void;
      const paused = new Promise<void>((resolve) => (resume = resolve));
      let lateInsert: Promise<unknown> = Promise.resolve();
      let lateInsertSent = false;
      const first = sql.begin(async (tx) => {
        pid = (await tx<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
        await paused;
        lateInsert = tx`insert into reuse_probe values ('from the ended transaction')`;
        lateInsertSent = true;
        await lateInsert;
      });
      await waitFor(() => pid !== null, { timeoutMs: 5_000, message: 'the first transaction to start' });
      const firstRejected = expect(first).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      await terminate(pid!);
      await firstRejected;
      const second = sql.begin(async (tx) => {
        await tx`insert into reuse_probe values ('second, rolled back')`;
        resume();
        await waitFor(() => lateInsertSent, { timeoutMs: 5_000, message: 'the ended transaction to resume' });
        await lateInsert.catch(() => {});
        throw new Error('the second transaction rolls back');
      });
      await expect(second).rejects.toThrow('the second transaction rolls back');
      await expect(lateInsert).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      expect(await sql`select tag from reuse_probe`).toEqual([]);
    } finally {
      await sql`drop table reuse_probe`;
      await sql.end({ timeout: 5 });
    }
  });
});
