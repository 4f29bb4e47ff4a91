import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir, readFile, rm } from 'node:fs/promises';
import { basename, delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { percentile } from './closed-loop.js';
import type { PostgresEndpoint } from './platform.js';

const run = promisify(execFile);

export const PGBENCH_INSTALL_HINT = 'pgbench was not found on PATH; install it with `apt-get install postgresql-client` (Debian/Ubuntu) and run again';
/** TPC-B-like with scale 1: one branch row, which every transaction updates. */
const SCALE = 1;
/** pgbench's own threads at 16 clients, as asked; one per core here. */
const THREADS_MANY_CLIENTS = 2;
/** Over the run's length, for connecting and the final report. */
const RUN_OVERHEAD_MS = 60_000;
const OUTPUT_BYTES_MAX = 4 * 1024 * 1024;

export interface PgbenchResult {
  clients: number;
  transactions: number;
  tps: number;
  latencyMs: { p50: number; p99: number };
  /** Every transaction's latency, ascending, so that runs of the same client count can be pooled. */
  sortedLatenciesMs: Float64Array;
  failedTransactions: number;
}

export interface Pgbench {
  binary: string;
  version: string;
  database: string;
  measure(clients: number, seconds: number): Promise<PgbenchResult>;
}

/** The first executable `pgbench` on the search path, as a shell would find it; null when there is none. */
export async function findPgbench(searchPath: string): Promise<string | null> {
  for (const folder of searchPath.split(delimiter).filter(Boolean)) {
    const candidate = join(folder, 'pgbench');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this folder; the next one may have it.
    }
  }
  return null;
}

/**
 * Makes `database` on the benchmark's own server and fills it with `pgbench -i -s 1`. pgbench connects over
 * TCP as the services do; its password goes in PGPASSWORD, never on the command line.
 */
export async function preparePgbench(binary: string, server: PostgresEndpoint, database: string, logDir: string): Promise<Pgbench> {
  await server.createDatabase(database);
  const connection = ['-h', server.host, '-p', String(server.port), '-U', server.user];
  const options = { env: { PGPASSWORD: server.password, PGCONNECT_TIMEOUT: '10' }, maxBuffer: OUTPUT_BYTES_MAX };
  const { stdout: versionText } = await run(binary, ['--version'], options);
  await run(binary, ['-i', '-s', String(SCALE), '-q', ...connection, database], { ...options, timeout: RUN_OVERHEAD_MS });
  return {
    binary,
    version: versionText.trim(),
    database,
    async measure(clients, seconds) {
      const logPrefix = join(logDir, `pgbench-c${clients}`);
      const threads = Math.min(clients, THREADS_MANY_CLIENTS);
      const args = ['-c', String(clients), '-j', String(threads), '-T', String(seconds), '-n', '-l', `--log-prefix=${logPrefix}`, ...connection, database];
      const { stdout } = await run(binary, args, { ...options, timeout: seconds * 1000 + RUN_OVERHEAD_MS });
      const latenciesMs = await readTransactionLog(logPrefix);
      return { clients, transactions: parseProcessed(stdout), tps: parseTps(stdout), latencyMs: { p50: percentile(latenciesMs, 0.5), p99: percentile(latenciesMs, 0.99) }, sortedLatenciesMs: latenciesMs, failedTransactions: parseFailed(stdout) };
    },
  };
}

/** `tps = 612.345678 (without initial connection time)`. */
export function parseTps(report: string): number {
  const match = /^tps = ([\d.]+)/m.exec(report);
  if (!match?.[1]) throw new Error(`pgbench printed no "tps = " line:\n${report}`);
  return Number(match[1]);
}

/** `number of transactions actually processed: 6123` (`6123/6123` with -t). */
function parseProcessed(report: string): number {
  const match = /^number of transactions actually processed: (\d+)/m.exec(report);
  if (!match?.[1]) throw new Error(`pgbench printed no "number of transactions actually processed" line:\n${report}`);
  return Number(match[1]);
}

/** `number of failed transactions: 0 (0.000%)`; pgbench before 15 does not print it, and then none is known. */
function parseFailed(report: string): number {
  const match = /^number of failed transactions: (\d+)/m.exec(report);
  return match?.[1] ? Number(match[1]) : 0;
}

/**
 * Per-transaction latencies from pgbench's `-l` logs (one file per thread, `<prefix>.<pid>[.<thread>]`); the
 * third field of each line is the latency in microseconds. The files are removed once read, so the next run
 * with the same prefix (a warm-up, then the measured run) reads only its own.
 */
async function readTransactionLog(logPrefix: string): Promise<Float64Array> {
  const folder = dirname(logPrefix);
  const files = (await readdir(folder)).filter((name) => name.startsWith(`${basename(logPrefix)}.`));
  const latenciesMs: number[] = [];
  for (const name of files) {
    for (const line of (await readFile(join(folder, name), 'utf8')).split('\n')) {
      const microseconds = Number(line.split(' ')[2]);
      if (line !== '' && Number.isFinite(microseconds)) latenciesMs.push(microseconds / 1000);
    }
    await rm(join(folder, name));
  }
  return Float64Array.from(latenciesMs).sort();
}
