import { writeBenchReport } from '../report-files.js';
import { cpus, totalmem, type as osType } from 'node:os';
import { type LoadResult, percentile } from './closed-loop.js';
import type { PgbenchResult } from './pgbench.js';
import type { LedgerSettings } from './settings.js';
import { ALL_SERVICES_PART, KAFKA_PART, POSTGRES_PART, type ShapeName } from './shapes.js';
import type { PathName } from './transfer-paths.js';
import { WALLET_PATTERNS, type WalletPattern } from './wallet-patterns.js';

/** The load generator's CPU part: the closed-loop clients' process, or pgbench beside a pgbench run. */
export const LOAD_GENERATOR_PART = 'load generator';
/** The production shape's subgraphs that a transfer does not call while it is answered (notification consumes its events afterwards). */
const OTHER_SUBGRAPHS = ['price', 'notification', 'blockchain'] as const;
const NAMED_SERVICES = ['gateway', 'transaction', 'user'] as const;
/** The figure the platform is held to: through the gateway, at least this share of pgbench's rate at TARGET_CLIENTS. */
const TARGET_RATIO = 0.3;
const TARGET_CLIENTS = 16;

export interface TransferRun {
  /** 1, 2, …: which pass over every cell this was. */
  round: number;
  shape: ShapeName;
  pattern: WalletPattern;
  path: PathName;
  result: LoadResult;
  /** CPU milliseconds each process used over the measured window, by part (see shapes.ts), the load generator's too. */
  cpuMs: Record<string, number>;
  /** Wall time between the two CPU readings. */
  cpuSeconds: number;
  /** One-process shape: how busy the services' one JavaScript thread was over the window, 0 to 1. */
  servicesThreadBusy: number | undefined;
  /** The machine's 1-minute load average as the run ended: how much else wanted the CPUs. */
  loadAverage1m: number;
}

export type PgbenchRun = PgbenchResult & {
  round: number;
  /** PostgreSQL's and pgbench's own (as the load generator) CPU milliseconds over the measured run. */
  cpuMs: Record<string, number>;
  loadAverage1m: number;
};

export interface LedgerReport {
  /** UTC, YYYY-MM-DD. */
  date: string;
  settings: LedgerSettings;
  machine: string;
  loadAverage1m: { start: number; end: number };
  /** The server pgbench ran on; every shape's is started alike. */
  postgres: string;
  pgbench: { binary: string; version: string; shape: ShapeName } | null;
  runs: TransferRun[];
  pgbenchResults: PgbenchRun[];
  /** Per shape, the sum of every wallet per currency after all runs, as the ledger snapshot reports it. */
  ledgerTotals: Partial<Record<ShapeName, Record<string, string>>>;
  durationSeconds: number;
}

/** One cell over every round: the windows pooled. */
interface CellTotal {
  shape: ShapeName;
  pattern: WalletPattern;
  clients: number;
  path: PathName;
  completed: number;
  perSecond: number;
  latencyMs: { p50: number; p99: number };
  cpuMs: Record<string, number>;
}

interface PgbenchTotal {
  clients: number;
  transactions: number;
  tps: number;
  latencyMs: { p50: number; p99: number };
  cpuMs: Record<string, number>;
}

export function describeMachine(): string {
  const processors = cpus();
  const memoryGb = Math.round(totalmem() / 1024 ** 3);
  return `${processors.length} cores (${processors[0]?.model.trim() ?? 'unknown CPU'}), ${memoryGb} GB RAM, ${osType()}, Node ${process.version}`;
}

/** One line per run, for the console while the benchmark goes on: its rate, latencies and CPU milliseconds per transfer by process. */
export function formatRun(run: TransferRun): string {
  const { result } = run;
  const perTransfer = Object.entries(run.cpuMs)
    .map(([part, ms]) => `${part} ${perUnit(ms, result.succeeded)}`)
    .join(', ');
  return `round ${run.round} ${run.shape.padEnd(11)} ${run.pattern.padEnd(8)} ${String(result.clients).padStart(2)} clients ${run.path.padEnd(7)}: ${result.perSecond.toFixed(1)} transfers/s, p50 ${ms(result.latencyMs.p50)} ms, p99 ${ms(result.latencyMs.p99)} ms, not completed: ${failuresText(result.failures)}; CPU ms per transfer: ${perTransfer}`;
}

export function formatPgbenchRun(run: PgbenchRun): string {
  const perTransaction = Object.entries(run.cpuMs)
    .map(([part, ms]) => `${part === LOAD_GENERATOR_PART ? 'pgbench' : part} ${perUnit(ms, run.transactions)}`)
    .join(', ');
  return `round ${run.round} pgbench ${String(run.clients).padStart(2)} clients: ${run.tps.toFixed(1)} tps, p50 ${ms(run.latencyMs.p50)} ms, p99 ${ms(run.latencyMs.p99)} ms; CPU ms per transaction: ${perTransaction}`;
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
  const pgbench = report.pgbench
    ? `${report.pgbench.version} at ${report.pgbench.binary}, built-in TPC-B-like script, scale 1, on the ${report.pgbench.shape} shape's server`
    : 'pgbench not installed (`apt-get install postgresql-client`): no baseline this run';
  const cells = cellTotals(report);
  const pgbenchTotals = pgbenchTotalsOf(report.pgbenchResults);
  return [
    `## Ledger, ${report.date}${settings.smoke ? ' (smoke run: too short to compare)' : ''}`,
    '',
    `**Machine.** ${report.machine}; 1-minute load average ${load(report.loadAverage1m.start)} at the start, ${load(report.loadAverage1m.end)} at the end. A shared machine with noisy neighbours: one run says little; compare runs on the same machine and watch the trend, and distrust a run whose load average is well above the core count.`,
    `**Software.** ${report.postgres}, one server per shape; ${pgbench}.`,
    `**Run.** Shapes ${settings.shapes.join(' and ')}; ${settings.rounds} round(s), each measuring every cell for ${settings.measureSeconds} s after ${settings.warmupSeconds} s warm-up (pgbench too), shapes and paths taking turns; ${settings.userCount} users per shape; 0.01 USD per transfer; clients ${settings.clientCounts.join(' and ')}, each awaiting one request at a time, in a load generator process of their own. The whole run took ${Math.round(report.durationSeconds)} s.`,
    '',
    ...comparisonTable(report, cells, pgbenchTotals),
    '',
    ...targetLine(cells, pgbenchTotals),
    `*uniform*: a random pair of distinct users among ${settings.userCount} for every transfer. *hot*: one user's wallet is the sender or the recipient (at random) of every transfer. pgbench at scale 1 has one \`pgbench_branches\` row that every transaction updates, so pgbench is naturally the hot case and the same pgbench runs stand in every row. Rates and latencies pool every round's window of the cell.`,
    '',
    '### CPU milliseconds per completed transfer, by process',
    '',
    ...cpuTable(cells, pgbenchTotals),
    '',
    `Each process's CPU time (user + system, from /proc/<pid>/stat) over the measured windows of every round, divided by the transfers completed in them. *total* is the services, PostgreSQL (the postmaster and every backend) and Kafka; the *load generator* (the clients' own process, or pgbench itself in its rows) is apart. In the one-process shape every service shares one process, so only its sum is known. *other subgraphs*: ${OTHER_SUBGRAPHS.join(', ')}.`,
    '',
    '### Every run',
    '',
    ...runsTable(report),
    '',
    `Ledger after all runs: ${Object.entries(report.ledgerTotals)
      .map(([shape, totals]) => `${shape} ${Object.entries(totals ?? {}).map(([currency, total]) => `${currency} ${total}`).join(', ')}`)
      .join('; ')} (every total must be zero).`,
    '',
    ...HOW_TO_READ,
    '',
  ].join('\n');
}

function cellTotals(report: LedgerReport): CellTotal[] {
  const cells: CellTotal[] = [];
  for (const shape of report.settings.shapes) {
    for (const pattern of WALLET_PATTERNS) {
      for (const clients of report.settings.clientCounts) {
        for (const path of ['gateway', 'direct'] as const) {
          const runs = report.runs.filter((run) => run.shape === shape && run.pattern === pattern && run.result.clients === clients && run.path === path);
          if (runs.length === 0) continue;
          const completed = sum(runs.map((run) => run.result.succeeded));
          const seconds = sum(runs.map((run) => run.result.measuredSeconds));
          cells.push({
            shape,
            pattern,
            clients,
            path,
            completed,
            perSecond: completed / seconds,
            latencyMs: pooledPercentiles(runs.map((run) => run.result.sortedLatenciesMs)),
            cpuMs: summedByPart(runs.map((run) => run.cpuMs)),
          });
        }
      }
    }
  }
  return cells;
}

function pgbenchTotalsOf(runs: readonly PgbenchRun[]): PgbenchTotal[] {
  const clientCounts = [...new Set(runs.map((run) => run.clients))];
  return clientCounts.map((clients) => {
    const same = runs.filter((run) => run.clients === clients);
    return {
      clients,
      transactions: sum(same.map((run) => run.transactions)),
      // Every run lasts as long, so the mean rate is the pooled rate.
      tps: sum(same.map((run) => run.tps)) / same.length,
      latencyMs: pooledPercentiles(same.map((run) => run.sortedLatenciesMs)),
      cpuMs: summedByPart(same.map((run) => run.cpuMs)),
    };
  });
}

function comparisonTable(report: LedgerReport, cells: readonly CellTotal[], pgbenchTotals: readonly PgbenchTotal[]): string[] {
  const rows = [
    '| shape | wallets | clients | gateway transfers/s | direct transfers/s | pgbench tps | gateway / pgbench | direct / pgbench | gateway p50 / p99 ms | direct p50 / p99 ms | pgbench p50 / p99 ms |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const shape of report.settings.shapes) {
    for (const pattern of WALLET_PATTERNS) {
      for (const clients of report.settings.clientCounts) {
        const find = (path: PathName) => cells.find((cell) => cell.shape === shape && cell.pattern === pattern && cell.path === path && cell.clients === clients);
        const gateway = find('gateway');
        const direct = find('direct');
        const pgbench = pgbenchTotals.find((total) => total.clients === clients);
        const ratio = (cell: CellTotal | undefined) => (cell && pgbench ? (cell.perSecond / pgbench.tps).toFixed(3) : '–');
        rows.push(
          `| ${shape} | ${pattern} | ${clients} | ${rate(gateway?.perSecond)} | ${rate(direct?.perSecond)} | ${rate(pgbench?.tps)} | ${ratio(gateway)} | ${ratio(direct)} | ${latency(gateway?.latencyMs)} | ${latency(direct?.latencyMs)} | ${latency(pgbench?.latencyMs)} |`,
        );
      }
    }
  }
  return rows;
}

/** Whether each shape and wallet pattern reached the target ratio through the gateway; nothing when it was not measured. */
function targetLine(cells: readonly CellTotal[], pgbenchTotals: readonly PgbenchTotal[]): string[] {
  const pgbench = pgbenchTotals.find((total) => total.clients === TARGET_CLIENTS);
  const measured = cells.filter((cell) => cell.path === 'gateway' && cell.clients === TARGET_CLIENTS);
  if (!pgbench || measured.length === 0) return [];
  const verdicts = measured.map((cell) => {
    const ratio = cell.perSecond / pgbench.tps;
    return `${cell.shape} ${cell.pattern} ${ratio.toFixed(3)} (${ratio >= TARGET_RATIO ? 'reached' : 'not reached'})`;
  });
  return [`**Target.** gateway / pgbench at ${TARGET_CLIENTS} clients of ${TARGET_RATIO} or more: ${verdicts.join(', ')}.`, ''];
}

function cpuTable(cells: readonly CellTotal[], pgbenchTotals: readonly PgbenchTotal[]): string[] {
  const rows = [
    '| shape | wallets | clients | path | completed | gateway | transaction | user | other subgraphs | all services | PostgreSQL | Kafka | total | load generator |',
    '|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const cell of cells) {
    const per = (ms: number | undefined) => (ms === undefined ? '–' : perUnit(ms, cell.completed));
    const { cpuMs } = cell;
    const named = NAMED_SERVICES.map((service) => per(cpuMs[service]));
    const others = OTHER_SUBGRAPHS.map((service) => cpuMs[service]);
    const other = others.every((ms) => ms === undefined) ? undefined : sum(others.map((ms) => ms ?? 0));
    const services = cpuMs[ALL_SERVICES_PART] ?? sum([...NAMED_SERVICES, ...OTHER_SUBGRAPHS].map((service) => cpuMs[service] ?? 0));
    const total = services + (cpuMs[POSTGRES_PART] ?? 0) + (cpuMs[KAFKA_PART] ?? 0);
    rows.push(
      `| ${cell.shape} | ${cell.pattern} | ${cell.clients} | ${cell.path} | ${cell.completed} | ${named.join(' | ')} | ${per(other)} | ${per(services)} | ${per(cpuMs[POSTGRES_PART])} | ${per(cpuMs[KAFKA_PART])} | ${per(total)} | ${per(cpuMs[LOAD_GENERATOR_PART])} |`,
    );
  }
  for (const total of pgbenchTotals) {
    const per = (ms: number | undefined) => (ms === undefined ? '–' : perUnit(ms, total.transactions));
    rows.push(`| pgbench | – | ${total.clients} | TPC-B | ${total.transactions} | – | – | – | – | – | ${per(total.cpuMs[POSTGRES_PART])} | – | ${per(total.cpuMs[POSTGRES_PART])} | ${per(total.cpuMs[LOAD_GENERATOR_PART])} |`);
  }
  return rows;
}

function runsTable(report: LedgerReport): string[] {
  const rows = [
    '| round | shape | wallets | clients | path | completed | transfers/s | p50 / p99 ms | not completed, by outcome | services CPU | services JS thread busy | PostgreSQL CPU | load generator CPU | load generator JS thread busy | machine load |',
    '|---:|---|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const run of report.runs) {
    const { result, cpuMs } = run;
    const services = cpuMs[ALL_SERVICES_PART] ?? sum([...NAMED_SERVICES, ...OTHER_SUBGRAPHS].map((service) => cpuMs[service] ?? 0));
    const core = (ms: number | undefined) => (ms === undefined ? '–' : `${Math.round((ms / (run.cpuSeconds * 1000)) * 100)} %`);
    rows.push(
      `| ${run.round} | ${run.shape} | ${run.pattern} | ${result.clients} | ${run.path} | ${result.succeeded} | ${rate(result.perSecond)} | ${latency(result.latencyMs)} | ${failuresText(result.failures)} | ${core(services)} | ${run.servicesThreadBusy === undefined ? '–' : percent(run.servicesThreadBusy)} | ${core(cpuMs[POSTGRES_PART])} | ${core(cpuMs[LOAD_GENERATOR_PART])} | ${percent(result.eventLoopUtilization)} | ${load(run.loadAverage1m)} |`,
    );
  }
  for (const run of report.pgbenchResults) {
    const seconds = report.settings.measureSeconds;
    const core = (ms: number | undefined) => (ms === undefined ? '–' : `${Math.round((ms / (seconds * 1000)) * 100)} %`);
    rows.push(
      `| ${run.round} | pgbench | – | ${run.clients} | TPC-B | ${run.transactions} | ${rate(run.tps)} | ${latency(run.latencyMs)} | ${run.failedTransactions === 0 ? 'none' : `${run.failedTransactions} failed`} | – | – | ${core(run.cpuMs[POSTGRES_PART])} | ${core(run.cpuMs[LOAD_GENERATOR_PART])} | – | ${load(run.loadAverage1m)} |`,
    );
  }
  return rows;
}

const HOW_TO_READ = [
  '### How to read it',
  '',
  '- A transfer through the gateway is 4 HTTP requests with JSON bodies (client → gateway → transaction subgraph, which calls the user subgraph twice: look up the recipient, apply the posting) and 3 SQL write transactions over two databases (record it PENDING; lock both wallets, update the balances, write the entries and the outbox; record it COMPLETED with its outbox event), plus a read, the outbox relays publishing afterwards and the notification subgraph consuming the events. A TPC-B transaction is 1 SQL transaction of 5 statements from a C client. So expect ratios well under 1; the point is to watch them over time: a falling ratio means the platform does less per unit of database, whatever the machine did that day.',
  '- *direct* posts the same mutation straight to the transaction subgraph with the internal credential the gateway would send, so gateway / direct is what the gateway costs (query planning, the user-token check, a credential per request, one more HTTP hop).',
  '- *one-process* runs the gateway and the five subgraphs on one Node.js thread in one process, as `npm start` does, events on the in-process bus. *production* runs each as its own OS process, as `npm run start:cluster` does (one instance each, no HAProxy), events through a Kafka broker. Each shape has a PostgreSQL server of its own, started alike; both shapes stay up for the whole run, so the one not being measured idles beside the other (its pollers and the broker cost a little CPU).',
  '- The load generator is a Node.js process of its own in both shapes, never on the services\' thread. *JS thread busy* is how much of the window a thread was running JavaScript: near 100 % for the one-process services, that thread is the limit, not PostgreSQL; near 100 % for the load generator, the clients are. *CPU* is CPU time per second of the window, in percent of one core (it can pass 100 %: garbage collection and I/O threads). Busy counts wall time, so busy near 100 % with CPU far below it means the thread was ready but waiting for a CPU other processes held: the machine, not the code, set that cell\'s pace.',
  '- CPU per transfer is what the transfer costs whatever the machine\'s load: a rate can fall because a neighbour took the CPUs, CPU per transfer barely moves. On 2 cores, the total bounds the rate: at best 2000 ms / total transfers per second, less the load generator\'s share. pgbench\'s row has only PostgreSQL\'s CPU (and pgbench\'s own), the floor a transfer\'s PostgreSQL column is compared with.',
  '- Every commit waits for its WAL flush (fsync=on, synchronous_commit=on), on both sides: pgbench at 1 client shows roughly what one commit costs on this disk, and a transfer makes three.',
  '- *hot*: every transfer locks the hot wallet (`SELECT … FOR UPDATE` in the posting), so transfers queue on that row in the user database; hot against uniform at 16 clients shows what that costs, once the CPUs are not the limit first.',
  '- *machine load* is the 1-minute load average as the cell ended (processes wanting a CPU; this machine has as many CPUs as the machine note says). Everything else on the machine competes with the platform and pgbench alike; a cell measured at a high load is slow for that reason. Rounds take turns over the shapes and paths (each round starting one turn later) so that this drift falls on every cell alike.',
  '- Latencies are per request, from sending to the answer, for the transfers that completed inside the windows; pgbench\'s come from its per-transaction log (`-l`).',
];

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
const perUnit = (ms: number, count: number) => (count === 0 || Number.isNaN(ms) ? '–' : (ms / count).toFixed(2));
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

function pooledPercentiles(sortedParts: readonly Float64Array[]): { p50: number; p99: number } {
  const pooled = new Float64Array(sum(sortedParts.map((part) => part.length)));
  let offset = 0;
  for (const part of sortedParts) {
    pooled.set(part, offset);
    offset += part.length;
  }
  pooled.sort();
  return { p50: percentile(pooled, 0.5), p99: percentile(pooled, 0.99) };
}

function summedByPart(readings: readonly Record<string, number>[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const reading of readings) for (const [part, ms] of Object.entries(reading)) totals[part] = (totals[part] ?? 0) + ms;
  return totals;
}
