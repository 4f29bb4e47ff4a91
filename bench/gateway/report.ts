import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SubgraphName } from '../../lib/subgraphs.js';
import { percentile } from '../ledger/closed-loop.js';
import { writeBenchReport } from '../report-files.js';
import type { CellResult } from './load-protocol.js';
import { HISTORY_ROWS, QUERIES, type QueryName, queryNamed } from './queries.js';
import type { GatewaySettings } from './settings.js';
import { type Mode, MODES, TARGET_NAMES, type TargetName } from './targets.js';

/** One query against one target in one mode and round, with the CPU every process of interest used in its window. */
export interface Cell {
  mode: Mode;
  round: number;
  query: QueryName;
  target: TargetName;
  result: CellResult;
  /** CPU seconds of the gateway process in the window (for `ours-single-process`, of the whole process); none for `direct`. */
  gatewayCpuSeconds: number | undefined;
  /** CPU seconds of each of the cluster's subgraph processes in the window. */
  subgraphCpuSeconds: Record<SubgraphName, number>;
  loadAverage1m: number;
}

/** A target that could not be measured in a mode, and why. */
export interface Unavailable {
  mode: Mode;
  target: TargetName;
  reason: string;
}

export interface GatewayReport {
  /** UTC, YYYY-MM-DD. */
  date: string;
  settings: GatewaySettings;
  machine: string;
  software: string;
  loadAverage1m: { start: number; end: number };
  cells: Cell[];
  unavailable: Unavailable[];
  durationSeconds: number;
}

const TARGET_LABELS: Record<TargetName, string> = {
  ours: 'our gateway',
  'hive-js': 'Hive Gateway, JS planner',
  'hive-rust': 'Hive Gateway, Rust planner',
  direct: 'the subgraph directly',
  'ours-single-process': 'our gateway in `npm start`\'s single process',
};

const NODE_MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));
const versionOf = (name: string) => {
  try {
    return (JSON.parse(readFileSync(`${NODE_MODULES}${name}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
};

/** The versions that decide what is measured, read from node_modules. */
export function softwareVersions(): string {
  const rust = versionOf('@graphql-hive/router-runtime');
  return [
    `our gateway: @apollo/gateway ${versionOf('@apollo/gateway')} in @apollo/server ${versionOf('@apollo/server')}`,
    `Hive Gateway: @graphql-hive/gateway ${versionOf('@graphql-hive/gateway')} (gateway-runtime ${versionOf('@graphql-hive/gateway-runtime')}, @graphql-tools/executor-http ${versionOf('@graphql-tools/executor-http')})`,
    rust ? `Rust planner: @graphql-hive/router-runtime ${rust} with @graphql-hive/router-query-planner ${versionOf('@graphql-hive/router-query-planner')}` : 'Rust planner: @graphql-hive/router-runtime not installed',
  ].join('; ');
}

/** Writes bench/results/gateway-<date>.md and, unless it is a smoke run, the latest section of bench/README.md. */
export function writeReport(report: GatewayReport): Promise<{ markdown: string; paths: string[] }> {
  return writeBenchReport('gateway', report.date, report.settings.smoke, renderReport(report));
}

/** Every round of one (mode, query, target) taken together. */
interface Summary {
  perSecond: number;
  latencyMs: { p50: number; p99: number };
  /** ms of CPU per good answer; undefined where there is no such process. */
  gatewayCpuMs: number | undefined;
  subgraphCpuMs: number | undefined;
  failed: number;
}

/** The subgraph processes of the cluster that a target's request reaches (none for the single process: it has its own). */
function subgraphsReached(query: QueryName, target: TargetName): SubgraphName[] {
  if (target === 'ours-single-process') return [];
  const chosen = queryNamed(query);
  return target === 'direct' ? [chosen.direct.subgraph] : chosen.subgraphs;
}

function summarize(cells: Cell[]): Summary | undefined {
  const first = cells[0];
  if (!first) return undefined;
  const succeeded = cells.reduce((sum, cell) => sum + cell.result.succeeded, 0);
  const latencies = Float64Array.from(cells.flatMap((cell) => cell.result.latenciesMs)).sort();
  const reached = subgraphsReached(first.query, first.target);
  const gatewayCpu = first.gatewayCpuSeconds === undefined ? undefined : cells.reduce((sum, cell) => sum + (cell.gatewayCpuSeconds ?? 0), 0);
  const subgraphCpu = reached.length === 0 ? undefined : cells.reduce((sum, cell) => sum + reached.reduce((inner, name) => inner + cell.subgraphCpuSeconds[name], 0), 0);
  return {
    perSecond: cells.reduce((sum, cell) => sum + cell.result.perSecond, 0) / cells.length,
    latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) },
    gatewayCpuMs: gatewayCpu === undefined || succeeded === 0 ? undefined : (gatewayCpu / succeeded) * 1000,
    subgraphCpuMs: subgraphCpu === undefined || succeeded === 0 ? undefined : (subgraphCpu / succeeded) * 1000,
    failed: cells.reduce((sum, cell) => sum + failedIn(cell), 0),
  };
}

const failedIn = (cell: Cell) => Object.values(cell.result.failures).reduce((sum, failure) => sum + failure.count, 0);
const cellsOf = (report: GatewayReport, mode: Mode, query: QueryName, target: TargetName) =>
  report.cells.filter((cell) => cell.mode === mode && cell.query === query && cell.target === target);

export function renderReport(report: GatewayReport): string {
  const { settings } = report;
  return [
    `## Gateway, ${report.date}${settings.smoke ? ' (smoke run: too short to compare)' : ''}`,
    '',
    `**Machine.** ${report.machine}; 1-minute load average ${load(report.loadAverage1m.start)} at the start, ${load(report.loadAverage1m.end)} at the end. A shared machine with noisy neighbours: compare runs on the same machine, and distrust a run whose load average is well above the core count.`,
    `**Software.** ${report.software}.`,
    `**Run.** ${settings.connections} connections, each awaiting its answer before sending the next; cells of ${settings.cellSeconds} s after ${settings.warmupSeconds} s of warm-up; ${settings.rounds} round(s) per mode, each round every query against every target in turn. Every answer checked (HTTP 200, \`data\` of the query's shape, no \`errors\`). The whole run took ${Math.round(report.durationSeconds)} s.`,
    `**Deduplication.** *off* / *on*: our gateway with \`SUBGRAPH_DEDUPLICATION=off\` / \`on\`; Hive Gateway with \`transportEntries: { '*.http': { options: { deduplicateInflightRequests: false / true } } }\` (@graphql-tools/executor-http's option, default true: identical query fetches to a subgraph in flight at once share one request). Hive's \`inboundInflightRequestDeduplication\` (whole client requests, default false) stays off in both modes.`,
    '',
    ...MODES.flatMap((mode) => modeTable(report, mode)),
    '### Ratios',
    '',
    ...ratioTable(report),
    '',
    '### Every cell',
    '',
    ...cellTable(report),
    '',
    ...failureList(report),
    ...unavailableList(report),
    ...HOW_TO_READ,
    '',
  ].join('\n');
}

function modeTable(report: GatewayReport, mode: Mode): string[] {
  const rows = [
    `### Subgraph deduplication ${mode}`,
    '',
    '| query | target | requests/s | p50 / p99 ms | gateway CPU ms per request | subgraphs CPU ms per request | failed answers |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const query of QUERIES) {
    for (const target of TARGET_NAMES) {
      const summary = summarize(cellsOf(report, mode, query.name, target));
      if (!summary) continue;
      rows.push(`| ${query.name} | ${TARGET_LABELS[target]} | ${rate(summary.perSecond)} | ${ms(summary.latencyMs.p50)} / ${ms(summary.latencyMs.p99)} | ${cpuMs(summary.gatewayCpuMs)} | ${cpuMs(summary.subgraphCpuMs)} | ${summary.failed} |`);
    }
  }
  return [...rows, ''];
}

function ratioTable(report: GatewayReport): string[] {
  const rows = [
    '| mode | query | requests/s ours / Hive JS | ours / Hive Rust | ours / direct | gateway CPU per request ours / Hive JS | ours / Hive Rust |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const mode of MODES) {
    for (const query of QUERIES) {
      const of = (target: TargetName) => summarize(cellsOf(report, mode, query.name, target));
      const ours = of('ours');
      const ratio = (mine: number | undefined, theirs: number | undefined) => (mine === undefined || theirs === undefined || theirs === 0 ? '–' : (mine / theirs).toFixed(2));
      rows.push(
        `| ${mode} | ${query.name} | ${ratio(ours?.perSecond, of('hive-js')?.perSecond)} | ${ratio(ours?.perSecond, of('hive-rust')?.perSecond)} | ${ratio(ours?.perSecond, of('direct')?.perSecond)} | ${ratio(ours?.gatewayCpuMs, of('hive-js')?.gatewayCpuMs)} | ${ratio(ours?.gatewayCpuMs, of('hive-rust')?.gatewayCpuMs)} |`,
      );
    }
  }
  return rows;
}

function cellTable(report: GatewayReport): string[] {
  const rows = [
    '| mode | round | query | target | requests/s | p50 / p99 ms | gateway CPU | subgraphs CPU | load generator CPU / busy | failed | machine load |',
    '|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const cell of report.cells) {
    const seconds = report.settings.cellSeconds;
    const reached = subgraphsReached(cell.query, cell.target);
    const subgraphCpu = reached.length === 0 ? undefined : reached.reduce((sum, name) => sum + cell.subgraphCpuSeconds[name], 0);
    rows.push(
      `| ${cell.mode} | ${cell.round} | ${cell.query} | ${cell.target} | ${rate(cell.result.perSecond)} | ${ms(cell.result.latencyMs.p50)} / ${ms(cell.result.latencyMs.p99)} | ${share(cell.gatewayCpuSeconds, seconds)} | ${share(subgraphCpu, seconds)} | ${share(cell.result.cpuSeconds, seconds)} / ${Math.round(cell.result.eventLoopUtilization * 100)} % | ${failedIn(cell)} | ${load(cell.loadAverage1m)} |`,
    );
  }
  return rows;
}

function failureList(report: GatewayReport): string[] {
  const failing = report.cells.filter((cell) => failedIn(cell) > 0);
  if (failing.length === 0) return ['**Failed answers.** None: every answer in every window was HTTP 200 with data of the right shape and no errors.', ''];
  return [
    '### Failed answers',
    '',
    '| mode | round | query | target | kind | count | first one |',
    '|---|---:|---|---|---|---:|---|',
    ...failing.flatMap((cell) =>
      Object.entries(cell.result.failures).map(([kind, failure]) => `| ${cell.mode} | ${cell.round} | ${cell.query} | ${cell.target} | ${kind} | ${failure.count} | ${failure.example.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 200)} |`),
    ),
    '',
  ];
}

function unavailableList(report: GatewayReport): string[] {
  if (report.unavailable.length === 0) return [];
  return ['**Not measured.**', '', ...report.unavailable.map((entry) => `- ${TARGET_LABELS[entry.target]}, deduplication ${entry.mode}: ${entry.reason.replace(/\s+/g, ' ')}`), ''];
}

const HOW_TO_READ = [
  '### How to read it',
  '',
  `- The queries: *me* is \`me { wallets { currency balance } }\` (the user subgraph alone); *price* is \`price(symbol: MCO2) { symbol vs value source observedAt stale }\` (the price subgraph alone); *history* is the user's last ${HISTORY_ROWS} transactions with \`from { displayName } to { displayName }\` (the transaction subgraph, then the user subgraph for the parties). Every query is asked as one signed-in user, so all 20 connections send the same request: the case deduplication is for.`,
  '- The targets run as processes of their own over the same subgraph processes (scripts/cluster: each subgraph its own process, PostgreSQL, Kafka, anvil): our gateway as the cluster starts it; Hive Gateway with the committed supergraph routed to the same subgraphs, sending the same internal credential our gateway mints for the same user; *the subgraph directly* gets the query\'s one-subgraph part with that credential (for *history*, the transaction subgraph\'s part: the parties as ids), so *ours / direct* is what the gateway costs. *our gateway in `npm start`\'s single process* is one Node process running the gateway and its own five subgraphs over the same databases: its gateway CPU is that whole process\'s.',
  '- *gateway CPU ms per request* is the gateway process\'s CPU time (user and system, every thread, from /proc/<pid>/stat) during the measured window divided by the good answers in it; *subgraphs CPU* is the same for the subgraph processes the request reaches. With deduplication on, several identical requests in flight share one subgraph fetch, so subgraph CPU per request should fall, and with it latency where the subgraph was the limit.',
  '- The load generator is a Node process of its own (node:http, one kept-alive socket per connection); its CPU is in percent of one core over the window, and *busy* is its event loop. When busy nears 100 %, it, not the target, set the pace of that cell. It shares the 2 cores with everything it measures: on this machine every figure is of the whole system under load, not of the gateway alone.',
  '- *requests/s* is the mean over rounds; latencies are over every good answer of every round. Rounds alternate the targets so a change in the machine\'s load falls on all of them; *machine load* is the 1-minute load average as the cell ended.',
];

const rate = (value: number) => value.toFixed(1);
const ms = (value: number) => (Number.isNaN(value) ? '–' : value < 10 ? value.toFixed(2) : value.toFixed(1));
const cpuMs = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '–' : value.toFixed(3));
const share = (cpuSeconds: number | undefined, seconds: number) => (cpuSeconds === undefined || Number.isNaN(cpuSeconds) ? '–' : `${Math.round((cpuSeconds / seconds) * 100)} %`);
const load = (value: number) => (Number.isNaN(value) ? '–' : value.toFixed(1));
