import { writeBenchReport } from '../report-files.js';
import { createRequire } from 'node:module';
import { describeMachine } from '../ledger/report.js';
import { PRICE_SUBSCRIPTION } from './crowd.js';
import type { Deliveries } from './deliveries.js';
import type { SubscriptionSettings } from './settings.js';

/** The child's memory after a full garbage collection. */
export interface MemorySample {
  residentBytes: number;
  heapUsedBytes: number;
  /** Memory of C++ objects bound to JS ones, socket buffers among them. */
  externalBytes: number;
  upstreams: number;
}

/** How long after the last subscriber left the gateway closed its upstream subscription; null if it did not. */
export interface UpstreamClose {
  closedAfterMs: number | null;
  /** It closed (or not) only after one more event was published. */
  afterAnotherEvent: boolean;
}

export interface CrowdRun {
  requested: number;
  connected: number;
  connectFailures: Record<string, number>;
  connectSeconds: number;
  /** Every subscriber and the consumer had a warm-up price before the memory was read and the ticks measured. */
  warmedUp: boolean;
  memory: MemorySample;
  gateway: Deliveries;
  /** The plain kafkajs consumer with no subscriber connected, just before the crowd connected. */
  consumerAlone: Deliveries;
  /** The same consumer during the crowd's ticks. */
  consumerBeside: Deliveries;
  lostConnections: number;
  subscriptionErrors: Record<string, number>;
  completedEarly: number;
  /** Prices no tick of the benchmark carried (the price subgraph's own poller). */
  foreignEvents: number;
  /** CPU time of the child during the measured ticks, pauses included. */
  platformCpuMicros: number;
  /** The same per second of the measured ticks, in percent of one core. */
  platformCpuPercent: number;
  platformLoopBusy: number;
  benchLoopBusy: number;
  loadAverage1m: number;
  upstreamClose: UpstreamClose;
}

export interface SubscriptionReport {
  /** UTC, YYYY-MM-DD. */
  date: string;
  settings: SubscriptionSettings;
  loadAverage1m: { start: number; end: number };
  software: string;
  /** The subgraphs in the platform process beside the gateway. */
  subgraphs: string[];
  idle: MemorySample & { upstreamClose: UpstreamClose };
  crowds: CrowdRun[];
  afterAll: MemorySample;
  durationSeconds: number;
}


export function describeSoftware(kafka: string): string {
  const require = createRequire(import.meta.url);
  const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return `${kafka} (one KRaft node on loopback, the platform's topics with 3 partitions); kafkajs ${version('kafkajs')}; graphql-ws ${version('graphql-ws')} over ws ${version('ws')}`;
}

/**
 * Writes the report to bench/results/subscriptions-<date>.md and, unless it is a smoke run, makes it the
 * latest in bench/README.md (between its markers). A smoke run goes to subscriptions-<date>-smoke.md only.
 */
export function writeReport(report: SubscriptionReport): Promise<{ markdown: string; paths: string[] }> {
  return writeBenchReport('subscriptions', report.date, report.settings.smoke, renderReport(report));
}

export function renderReport(report: SubscriptionReport): string {
  const { settings } = report;
  return [
    `## Subscriptions, ${report.date}${settings.smoke ? ' (smoke run: too few ticks or subscribers to compare)' : ''}`,
    '',
    `**Machine.** ${describeMachine()}; 1-minute load average ${load(report.loadAverage1m.start)} at the start, ${load(report.loadAverage1m.end)} at the end. A shared machine with noisy neighbours: one run says little; compare runs on the same machine and watch the trend, and distrust a run whose load average is well above the core count.`,
    `**Software.** ${report.software}. The platform process runs the gateway and the subgraphs ${report.subgraphs.join(', ')} (Kafka, PostgreSQL and anvil run apart).`,
    `**Run.** \`${PRICE_SUBSCRIPTION.trim()}\` through the gateway, one graphql-ws socket per subscriber, all with one user's token, connected ${settings.connectBatch} at a time; ${settings.ticks} measured ticks per size, each published once the one before had reached every receiver, ${settings.tickPauseMs} ms apart; the same number of ticks to the plain kafkajs consumer alone just before each crowd connected. The whole run took ${Math.round(report.durationSeconds)} s.`,
    '',
    '### Latency, Kafka publish to receive',
    '',
    ...latencyTable(report),
    '',
    '### Memory of the platform process (gateway and subgraphs)',
    '',
    ...memoryTable(report),
    '',
    ...findings(report),
    '',
    ...HOW_TO_READ,
    '',
  ].join('\n');
}

function latencyTable(report: SubscriptionReport): string[] {
  const rows = [
    '| subscribers | connected | delivered / expected | gateway p50 / p99 / max ms | kafkajs alone p50 / p99 ms | kafkajs beside the gateway p50 / p99 ms | gateway p50 − kafkajs alone p50 ms | platform CPU per delivery µs | platform CPU | platform JS thread busy | bench JS thread busy | machine load |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const crowd of report.crowds) {
    const { gateway, consumerAlone, consumerBeside } = crowd;
    rows.push(
      `| ${count(crowd.requested)} | ${count(crowd.connected)} | ${count(gateway.delivered)} / ${count(gateway.expected)} | ${ms(gateway.latencyMs.p50)} / ${ms(gateway.latencyMs.p99)} / ${ms(gateway.latencyMs.max)} | ${ms(consumerAlone.latencyMs.p50)} / ${ms(consumerAlone.latencyMs.p99)} | ${ms(consumerBeside.latencyMs.p50)} / ${ms(consumerBeside.latencyMs.p99)} | ${ms(gateway.latencyMs.p50 - consumerAlone.latencyMs.p50)} | ${gateway.delivered > 0 ? Math.round(crowd.platformCpuMicros / gateway.delivered) : '–'} | ${Math.round(crowd.platformCpuPercent)} % | ${percent(crowd.platformLoopBusy)} | ${percent(crowd.benchLoopBusy)} | ${load(crowd.loadAverage1m)} |`,
    );
  }
  return rows;
}

function memoryTable(report: SubscriptionReport): string[] {
  const { idle } = report;
  const rows = [
    '| subscribers | RSS MB | RSS per subscriber KB | JS heap used MB | heap per subscriber KB | external MB | upstream subscriptions | upstream closed after the last subscriber left |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  const row = (label: string, memory: MemorySample, subscribers: number, upstreamClose: UpstreamClose | null) => {
    const perSubscriber = (bytes: number, idleBytes: number) => (subscribers > 0 ? ((bytes - idleBytes) / subscribers / 1024).toFixed(1) : '–');
    rows.push(
      `| ${label} | ${mb(memory.residentBytes)} | ${perSubscriber(memory.residentBytes, idle.residentBytes)} | ${mb(memory.heapUsedBytes)} | ${perSubscriber(memory.heapUsedBytes, idle.heapUsedBytes)} | ${mb(memory.externalBytes)} | ${memory.upstreams} | ${upstreamClose ? closeText(upstreamClose) : '–'} |`,
    );
  };
  row('0 (idle, after one warm-up subscriber left)', idle, 0, idle.upstreamClose);
  for (const crowd of report.crowds) row(count(crowd.connected), crowd.memory, crowd.connected, crowd.upstreamClose);
  row('0 (after every crowd left)', report.afterAll, 0, null);
  return rows;
}

/** Everything that should have been zero or true and was not, or a line saying so. */
function findings(report: SubscriptionReport): string[] {
  const lines: string[] = [];
  for (const crowd of report.crowds) {
    const at = `${count(crowd.requested)} subscribers`;
    if (crowd.connected < crowd.requested) lines.push(`- ${at}: ${crowd.requested - crowd.connected} did not connect (${tally(crowd.connectFailures)}).`);
    if (!crowd.warmedUp) lines.push(`- ${at}: the warm-up ran out before every subscriber had a price; memory and latency include subscribers not yet attached.`);
    if (crowd.gateway.missing > 0) lines.push(`- ${at}: ${count(crowd.gateway.missing)} of ${count(crowd.gateway.expected)} deliveries through the gateway never came.`);
    if (crowd.gateway.duplicates > 0) lines.push(`- ${at}: ${count(crowd.gateway.duplicates)} deliveries came twice.`);
    for (const [name, consumer] of [['alone', crowd.consumerAlone], ['beside the gateway', crowd.consumerBeside]] as const) {
      if (consumer.missing > 0 || consumer.duplicates > 0) lines.push(`- ${at}: the kafkajs consumer ${name} missed ${consumer.missing} and got ${consumer.duplicates} twice.`);
    }
    if (crowd.lostConnections > 0) lines.push(`- ${at}: ${crowd.lostConnections} sockets closed during the run.`);
    if (crowd.completedEarly > 0) lines.push(`- ${at}: the gateway completed ${crowd.completedEarly} subscriptions during the run.`);
    if (Object.keys(crowd.subscriptionErrors).length > 0) lines.push(`- ${at}: subscription errors: ${tally(crowd.subscriptionErrors)}.`);
    if (crowd.foreignEvents > 0) lines.push(`- ${at}: ${crowd.foreignEvents} prices arrived that the benchmark did not publish.`);
    if (crowd.memory.upstreams !== 1) lines.push(`- ${at}: the gateway had ${crowd.memory.upstreams} upstream subscriptions open, not 1.`);
    if (crowd.upstreamClose.afterAnotherEvent) lines.push(`- ${at}: ${lingeringUpstream(crowd.upstreamClose)}`);
  }
  if (report.idle.upstreamClose.afterAnotherEvent) lines.push(`- the warm-up subscriber: ${lingeringUpstream(report.idle.upstreamClose)}`);
  if (report.afterAll.upstreams !== 0) lines.push(`- ${report.afterAll.upstreams} upstream subscriptions were still open after every crowd left.`);
  return lines.length > 0 ? ['**Findings.**', '', ...lines] : ['**Findings.** None: every subscriber connected and received every tick once, one upstream served each crowd, and it closed when the crowd left.'];
}

const HOW_TO_READ = [
  '### How to read it',
  '',
  '- A tick is one `price.updated` event produced straight to Kafka (kafkajs, idempotent, acks all). Through the gateway it goes: broker → the price subgraph\'s live-feed consumer (a group of its own, reading from now) → its `priceUpdated` resolver → graphql-ws to the gateway, where one upstream subscription serves every subscriber → for each subscriber, Apollo\'s `executeQueryPlan` shapes the event to that subscriber\'s selection → graphql-ws to that subscriber\'s socket. *kafkajs alone* is the first hop only (a plain consumer in this process, with no subscriber connected), so *gateway p50 − kafkajs alone p50* is what the subgraph, the gateway and the fan-out add.',
  '- Latency runs from just before the send to the receiving callback in this process (one clock), over every (subscriber, tick) pair. Every socket is read by this one Node.js thread, so the last of 5,000 sockets waits for this process to read the 4,999 before it: p99 and max at a large crowd measure how long the whole fan-out takes, on both sides. *bench JS thread busy* near 100 % means this process, not the gateway, set the pace; *kafkajs beside the gateway* is the same consumer during the crowd\'s ticks, slowed by the same thread.',
  '- *kafkajs alone* has one sample per tick, so with 20 ticks its p99 is its slowest tick; the gateway columns have one per subscriber and tick.',
  '- *platform CPU per delivery* is the child\'s CPU time during the measured ticks divided by the deliveries: what one event to one subscriber costs the gateway. It includes the platform\'s own background work over the same seconds (timers, keep-alives, garbage collection), which dominates at small crowds; at thousands of subscribers the fan-out dominates. The gateway runs on one JS thread, so it can make at most about 1,000,000 / this many deliveries (subscribers × ticks) per second.',
  '- *platform CPU* is the child\'s CPU time (gateway and the three subgraphs) per second of the measured ticks, pauses included, in percent of one core; *platform JS thread busy* is its event loop over the same time. The machine has 2 cores for Kafka, PostgreSQL, the platform and this process together.',
  '- Memory is the platform process\'s, read after a full garbage collection (`--expose-gc`): RSS from `/proc/<pid>/status`, and V8\'s heap. Per subscriber = (value with the crowd − idle value) / subscribers: the server side of the socket, its graphql-ws connection and subscription, the gateway\'s per-subscriber queue and plan, and the heap they fragment. Kernel socket buffers are not in RSS. Idle is read after one subscriber came, got a price and left, so parts built on first use count as idle.',
  '- RSS per subscriber is coarse: the idle process already holds pages its start-up freed (migrations, compiling), and a small crowd fits in them, so it can come out near zero, or below, at 1,000; the heap per subscriber is the steadier figure. The subgraphs are in the same process, but they serve one upstream subscription whatever the crowd, so the difference is the gateway\'s.',
  '- RSS seldom shrinks after a crowd leaves (the allocator keeps freed pages): the last row shows what stayed; its heap should be back near idle, and a heap that grows from crowd to crowd would be a leak.',
  '- *upstream subscriptions* should be 1 for every crowd size (identical public subscriptions share one) and 0 once the crowd has left.',
];

const count = (value: number) => value.toLocaleString('en-US');
const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);
const ms = (value: number) => (Number.isNaN(value) ? '–' : Math.abs(value) < 10 ? value.toFixed(2) : value.toFixed(1));
const load = (value: number) => (Number.isNaN(value) ? '–' : value.toFixed(1));
const percent = (fraction: number) => (Number.isNaN(fraction) ? '–' : `${Math.round(fraction * 100)} %`);
const tally = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([what, times]) => `${what} ×${times}`)
    .join(', ');
const lingeringUpstream = (close: UpstreamClose) =>
  close.closedAfterMs === null
    ? 'the gateway kept its upstream subscription open after the last subscriber left, and still after one more event was published.'
    : `the gateway kept its upstream subscription open after the last subscriber left; it closed only when one more event was published (${(close.closedAfterMs / 1000).toFixed(1)} s after they left).`;
const closeText = (close: UpstreamClose) =>
  close.closedAfterMs === null
    ? `still open ${close.afterAnotherEvent ? 'after one more event' : ''}`.trim()
    : `${(close.closedAfterMs / 1000).toFixed(1)} s${close.afterAnotherEvent ? ', only after one more event was published' : ''}`;
