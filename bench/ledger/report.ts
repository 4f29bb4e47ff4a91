import { writeBenchReport } from '../report-files.js';
import { cpus, totalmem, type as osType } from 'node:os';
import type { LoadResult } from './closed-loop.js';
import type { PgbenchResult } from './pgbench.js';
import type { LedgerSettings } from './settings.js';
import type { PathName } from './transfer-paths.js';
import { WALLET_PATTERNS, type WalletPattern } from './wallet-patterns.js';

export interface TransferRun {
  pattern: WalletPattern;
  path: PathName;
  result: LoadResult;
  /** The machine's 1-minute load average as the run ended: how much else wanted the CPUs. */
  loadAverage1m: number;
}

export type PgbenchRun = PgbenchResult & { loadAverage1m: number };

export interface LedgerReport {
  /** UTC, YYYY-MM-DD. */
  date: string;
  settings: LedgerSettings;
  machine: string;
  loadAverage1m: { start: number; end: number };
  postgres: string;
  pgbench: { binary: string; version: string } | null;
  runs: TransferRun[];
  pgbenchResults: PgbenchRun[];
  /** Sum of every wallet per currency after all runs, as the ledger snapshot reports it. */
  ledgerTotals: Record<string, string>;
  durationSeconds: number;
}


export function describeMachine(): string {
  const processors = cpus();
  const memoryGb = Math.round(totalmem() / 1024 ** 3);
  return `${processors.length} cores (${processors[0]?.model.trim() ?? 'unknown CPU'}), ${memoryGb} GB RAM, ${osType()}, Node ${process.version}`;
}

/** One line per run, for the console while the benchmark goes on. */
export function formatRun(run: TransferRun): string {
  const { result } = run;
  return `${run.pattern.padEnd(8)}  ${String(result.clients).padStart(2)} clients ${run.path.padEnd(7)}: ${result.perSecond.toFixed(1)} transfers/s, p50 ${ms(result.latencyMs.p50)} ms, p99 ${ms(result.latencyMs.p99)} ms, not completed: ${failuresText(result.failures)}, JS thread busy ${percent(result.eventLoopUtilization)}`;
}

/**
 * Writes the report to bench/results/ledger-<date>.md and, unless it is a smoke run, makes it the latest in
 * bench/README.md (between its markers). A smoke run goes to ledger-<date>-smoke.md only, so a quick check
 * never replaces the numbers of a real run.
 */
export function writeReport(report: LedgerReport): Promise<{ markdown: string; paths: string[] }> {
  return writeBenchReport('ledger', report.date, report.settings.smoke, renderReport(report));
}

export function renderReport(report: LedgerReport): string {
  const { settings } = report;
  const pgbench = report.pgbench ? `${report.pgbench.version} at ${report.pgbench.binary}, built-in TPC-B-like script, scale 1` : 'pgbench not installed (`apt-get install postgresql-client`): no baseline this run';
  return [
    `## Ledger, ${report.date}${settings.smoke ? ' (smoke run: too short to compare)' : ''}`,
    '',
    `**Machine.** ${report.machine}; 1-minute load average ${load(report.loadAverage1m.start)} at the start, ${load(report.loadAverage1m.end)} at the end. A shared machine with noisy neighbours: one run says little; compare runs on the same machine and watch the trend, and distrust a run whose load average is well above the core count.`,
    `**Software.** ${report.postgres}; ${pgbench}.`,
    `**Run.** Per cell ${settings.measureSeconds} s measured after ${settings.warmupSeconds} s warm-up (pgbench too); ${settings.userCount} users; 0.01 USD per transfer; clients ${settings.clientCounts.join(' and ')}, each awaiting one request at a time. The whole run took ${Math.round(report.durationSeconds)} s.`,
    '',
    ...comparisonTable(report),
    '',
    `*uniform*: a random pair of distinct users among ${settings.userCount} for every transfer. *hot*: one user's wallet is the sender or the recipient (at random) of every transfer. pgbench at scale 1 has one \`pgbench_branches\` row that every transaction updates, so pgbench is naturally the hot case and the same pgbench run stands in both rows.`,
    '',
    '### Every run',
    '',
    ...runsTable(report),
    '',
    `Ledger after all runs: ${Object.entries(report.ledgerTotals).map(([currency, total]) => `${currency} ${total}`).join(', ')} (every total must be zero).`,
    '',
    ...HOW_TO_READ,
    '',
  ].join('\n');
}

function comparisonTable(report: LedgerReport): string[] {
  const rows = [
    '| wallets | clients | gateway transfers/s | direct transfers/s | pgbench tps | gateway / pgbench | direct / pgbench | gateway p50 / p99 ms | direct p50 / p99 ms | pgbench p50 / p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const pattern of WALLET_PATTERNS) {
    for (const clients of report.settings.clientCounts) {
      const find = (path: PathName) => report.runs.find((run) => run.pattern === pattern && run.path === path && run.result.clients === clients)?.result;
      const gateway = find('gateway');
      const direct = find('direct');
      const pgbench = report.pgbenchResults.find((result) => result.clients === clients);
      const ratio = (result: LoadResult | undefined) => (result && pgbench ? (result.perSecond / pgbench.tps).toFixed(3) : '–');
      rows.push(
        `| ${pattern} | ${clients} | ${rate(gateway?.perSecond)} | ${rate(direct?.perSecond)} | ${rate(pgbench?.tps)} | ${ratio(gateway)} | ${ratio(direct)} | ${latency(gateway?.latencyMs)} | ${latency(direct?.latencyMs)} | ${latency(pgbench?.latencyMs)} |`,
      );
    }
  }
  return rows;
}

function runsTable(report: LedgerReport): string[] {
  const rows = [
    '| wallets | clients | path | completed | transfers/s | p50 / p99 ms | not completed, by outcome | process CPU | JS thread busy | machine load |',
    '|---|---:|---|---:|---:|---:|---|---:|---:|---:|',
  ];
  for (const { pattern, path, result, loadAverage1m } of report.runs) {
    rows.push(
      `| ${pattern} | ${result.clients} | ${path} | ${result.succeeded} | ${rate(result.perSecond)} | ${latency(result.latencyMs)} | ${failuresText(result.failures)} | ${Math.round(result.processCpuPercent)} % | ${percent(result.eventLoopUtilization)} | ${load(loadAverage1m)} |`,
    );
  }
  for (const result of report.pgbenchResults) {
    rows.push(`| pgbench | ${result.clients} | TPC-B | ${result.transactions} | ${rate(result.tps)} | ${latency(result.latencyMs)} | ${result.failedTransactions === 0 ? 'none' : `${result.failedTransactions} failed`} | – | – | ${load(result.loadAverage1m)} |`);
  }
  return rows;
}

const HOW_TO_READ = [
  '### How to read it',
  '',
  '- A transfer through the gateway is 4 HTTP requests with JSON bodies (client → gateway → transaction subgraph, which calls the user subgraph twice: look up the recipient, apply the posting) and 3 SQL write transactions over two databases (record it PENDING; lock both wallets, update the balances, write the entries and the outbox; record it COMPLETED with its outbox event), plus a read and the outbox relays publishing afterwards. A TPC-B transaction is 1 SQL transaction of 5 statements from a C client. So expect ratios well under 1; the point is to watch them over time: a falling ratio means the platform does less per unit of database, whatever the machine did that day.',
  '- *direct* posts the same mutation straight to the transaction subgraph with the internal credential the gateway would send, so gateway / direct is what the gateway costs (query planning, the user-token check, a credential per request, one more HTTP hop).',
  '- The load generator, the gateway and the three subgraphs all run on one Node.js thread in one process; pgbench is a separate C program with its own threads. When *JS thread busy* nears 100 %, that thread is the limit, not PostgreSQL. *process CPU* is CPU time per second of the cell, in percent of one core (it can pass 100 %: garbage collection and I/O threads). Busy counts wall time, so busy near 100 % with process CPU far below it means the thread was ready but waiting for a CPU other processes held: the machine, not the code, set that cell\'s pace.',
  '- Every commit waits for its WAL flush (fsync=on, synchronous_commit=on), on both sides: pgbench at 1 client shows roughly what one commit costs on this disk, and a transfer makes three.',
  '- *hot*: every transfer locks the hot wallet (`SELECT … FOR UPDATE` in the posting), so transfers queue on that row in the user database; hot against uniform at 16 clients shows what that costs, once the JS thread is not the limit first.',
  '- *machine load* is the 1-minute load average as the cell ended (processes wanting a CPU; this machine has as many CPUs as the machine note says). Everything else on the machine competes with both the platform and pgbench; a cell measured at a high load is slow for that reason.',
  '- Latencies are per request, from sending to the answer, for the transfers that completed inside the window; pgbench\'s come from its per-transaction log (`-l`).',
];

const rate = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(1));
const ms = (value: number) => (Number.isNaN(value) ? '–' : value < 10 ? value.toFixed(2) : value.toFixed(1));
const latency = (value: { p50: number; p99: number } | undefined) => (value ? `${ms(value.p50)} / ${ms(value.p99)}` : '–');
const load = (value: number) => (Number.isNaN(value) ? '–' : value.toFixed(1));
const percent = (fraction: number) => `${Math.round(fraction * 100)} %`;
const failuresText = (failures: Record<string, number>) =>
  Object.keys(failures).length === 0
    ? 'none'
    : Object.entries(failures)
        .sort(([, a], [, b]) => b - a)
        .map(([outcome, count]) => `${outcome} ×${count}`)
        .join(', ');
