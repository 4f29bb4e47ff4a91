import { createRequire } from 'node:module';
import { writeBenchReport } from '../report-files.js';
import { describeMachine } from '../ledger/report.js';
import type { Deliveries } from './deliveries.js';
import { DELIVERIES_METRIC, EXECUTIONS_METRIC } from './gateway-metrics.js';
import { SELECTIONS } from './selections.js';
import type { CrowdKind, ShapeName, SubscriptionSettings } from './settings.js';
import type { GatewayMemory } from './shapes.js';

/** How long after the last subscriber left the gateway closed its upstream subscription; null if it did not. */
export interface UpstreamClose {
  closedAfterMs: number | null;
  /** It closed (or not) only after one more event was published. */
  afterAnotherEvent: boolean;
}

export type IdleGateway = GatewayMemory & { upstreamClose: UpstreamClose };

export interface CrowdRun {
  kind: CrowdKind;
  /** Distinct selections the crowd was spread over. */
  selections: number;
  requested: number;
  connected: number;
  connectFailures: Record<string, number>;
  connectSeconds: number;
  /** Every subscriber and the consumer had a warm-up price before the memory was read and the ticks measured. */
  warmedUp: boolean;
  memory: GatewayMemory;
  /** The gateway's upstream subscriptions with the crowd connected; null if it does not say. */
  upstreams: number | null;
  gateway: Deliveries;
  /** The plain kafkajs consumer with no subscriber connected, just before the crowd connected. */
  consumerAlone: Deliveries;
  /** The same consumer during the crowd's ticks. */
  consumerBeside: Deliveries;
  /** Acknowledged sockets closed during the run, by close code. */
  closeCodes: Record<string, number>;
  subscriptionErrors: Record<string, number>;
  completedEarly: number;
  /** Prices no tick of the benchmark carried (the price subgraph's own poller). */
  foreignEvents: number;
  /** The gateway process's CPU time over the measured ticks, pauses included. */
  gatewayCpuMs: number;
  windowSeconds: number;
  /** The gateway's own counters over the measured ticks; null when it does not expose them. */
  executions: number | null;
  socketWrites: number | null;
  /** Each client process's CPU time over the ticks' fan-outs (publish to last delivery), per second of them. */
  clientBusy: number[];
  loadAverage1m: number;
  upstreamClose: UpstreamClose;
}

export interface ShapeRun {
  name: ShapeName;
  /** What the process reported as the gateway holds. */
  measuredProcess: string;
  idle: IdleGateway;
  crowds: CrowdRun[];
  afterAll: GatewayMemory;
}

/** The same uniform crowd on a plain ws server that only writes each tick to every socket (bare-ws-child.ts). */
export interface FloorRun {
  requested: number;
  connected: number;
  deliveries: Deliveries;
  /** The server process's CPU time over the measured ticks, pauses included. */
  serverCpuMs: number;
  clientBusy: number[];
  loadAverage1m: number;
}

export interface SubscriptionReport {
  /** UTC, YYYY-MM-DD. */
  date: string;
  settings: SubscriptionSettings;
  loadAverage1m: { start: number; end: number };
  software: string;
  shapes: ShapeRun[];
  floors: FloorRun[];
  durationSeconds: number;
}

export function describeSoftware(kafka: string): string {
  const require = createRequire(import.meta.url);
  const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
  return `${kafka} (one KRaft node on loopback, the platform's topics with 3 partitions); kafkajs ${version('kafkajs')}; graphql-ws ${version('graphql-ws')} over ws ${version('ws')} at the gateway, plain ws with graphql-transport-ws spoken by hand in the client processes`;
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
  const identity = settings.subscriberAuth === 'user' ? "all with one signed-in user's token in connectionParams" : 'anonymous (no connectionParams)';
  return [
    `## Subscriptions, ${report.date}${settings.smoke ? ' (smoke run: too few ticks or subscribers to compare)' : ''}`,
    '',
    `**Machine.** ${describeMachine()}; 1-minute load average ${load(report.loadAverage1m.start)} at the start, ${load(report.loadAverage1m.end)} at the end. A shared machine with noisy neighbours: one run says little; compare runs on the same machine and watch the trend, and distrust a run whose load average is well above the core count.`,
    `**Software.** ${report.software}.`,
    `**Run.** \`priceUpdated(symbol: MCO2)\` through the gateway, one socket per subscriber, ${identity}, spread over ${settings.clientProcesses} client processes and connected ${settings.connectBatch} at a time; a uniform crowd asks \`${SELECTIONS[0]!.fields}\`, a mixed one is spread evenly over ${SELECTIONS.length} selections (${SELECTIONS.map((selection) => `\`${selection.fields}\``).join(', ')}). ${settings.ticks} measured ticks per crowd, each published once the one before had reached every receiver (or 10 s passed), ${settings.tickPauseMs} ms apart; the same number of ticks to the plain kafkajs consumer alone just before each crowd connected. Shapes took turns crowd by crowd. The whole run took ${Math.round(report.durationSeconds)} s.`,
    '',
    ...report.shapes.flatMap((shape) => shapeSection(shape)),
    ...floorSection(report.floors),
    ...findings(report),
    '',
    ...HOW_TO_READ,
    '',
  ].join('\n');
}

function shapeSection(shape: ShapeRun): string[] {
  const rows = [
    `### ${shape.name}`,
    '',
    `The measured process is ${shape.measuredProcess}. Idle, after one warm-up subscriber left: RSS ${mb(shape.idle.residentBytes)} MB, heap ${mb(shape.idle.heapUsedBytes)} MB; after every crowd left: RSS ${mb(shape.afterAll.residentBytes)} MB, heap ${mb(shape.afterAll.heapUsedBytes)} MB.`,
    '',
    '| subscribers | selections | connected | delivered / expected | p50 / p99 / max ms | kafkajs alone p50 / p99 ms | gateway CPU µs per delivery | gateway CPU ms per tick | executions per tick | RSS KB per subscriber | heap KB per subscriber | client processes busy, max / mean | machine load |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const crowd of shape.crowds) {
    const { gateway, consumerAlone } = crowd;
    const ticks = gateway.expected / Math.max(1, crowd.connected);
    const perSubscriber = (bytes: number, idleBytes: number) => (crowd.connected > 0 ? ((bytes - idleBytes) / crowd.connected / 1024).toFixed(1) : '–');
    const busyMax = crowd.clientBusy.length ? Math.max(...crowd.clientBusy) : Number.NaN;
    const busyMean = crowd.clientBusy.reduce((sum, share) => sum + share, 0) / Math.max(1, crowd.clientBusy.length);
    rows.push(
      `| ${count(crowd.requested)} | ${crowd.selections} | ${count(crowd.connected)} | ${count(gateway.delivered)} / ${count(gateway.expected)} | ${ms(gateway.latencyMs.p50)} / ${ms(gateway.latencyMs.p99)} / ${ms(gateway.latencyMs.max)} | ${ms(consumerAlone.latencyMs.p50)} / ${ms(consumerAlone.latencyMs.p99)} | ${gateway.delivered > 0 ? Math.round((crowd.gatewayCpuMs * 1000) / gateway.delivered) : '–'} | ${ticks > 0 ? ms(crowd.gatewayCpuMs / ticks) : '–'} | ${crowd.executions === null ? 'not exposed' : ticks > 0 ? (crowd.executions / ticks).toFixed(1) : '–'} | ${perSubscriber(crowd.memory.residentBytes, shape.idle.residentBytes)} | ${perSubscriber(crowd.memory.heapUsedBytes, shape.idle.heapUsedBytes)} | ${percent(busyMax)} / ${percent(busyMean)} | ${load(crowd.loadAverage1m)} |`,
    );
  }
  return [...rows, ''];
}

function floorSection(floors: FloorRun[]): string[] {
  if (floors.length === 0) return [];
  const rows = [
    '### ws alone: the floor',
    '',
    'The same uniform crowds, connected to a plain `ws` server in a process of its own that writes each tick to every socket (one serialised result, each subscription\'s id around it, as the gateway writes) and does nothing else: what the sockets cost on this machine, with no GraphQL, Kafka or subgraph.',
    '',
    '| subscribers | connected | delivered / expected | p50 / p99 / max ms | server CPU µs per socket write | server CPU ms per tick | client processes busy, max / mean | machine load |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const floor of floors) {
    const { deliveries } = floor;
    const ticks = deliveries.expected / Math.max(1, floor.connected);
    const busyMax = floor.clientBusy.length ? Math.max(...floor.clientBusy) : Number.NaN;
    const busyMean = floor.clientBusy.reduce((sum, share) => sum + share, 0) / Math.max(1, floor.clientBusy.length);
    rows.push(
      `| ${count(floor.requested)} | ${count(floor.connected)} | ${count(deliveries.delivered)} / ${count(deliveries.expected)} | ${ms(deliveries.latencyMs.p50)} / ${ms(deliveries.latencyMs.p99)} / ${ms(deliveries.latencyMs.max)} | ${deliveries.delivered > 0 ? Math.round((floor.serverCpuMs * 1000) / deliveries.delivered) : '–'} | ${ticks > 0 ? ms(floor.serverCpuMs / ticks) : '–'} | ${percent(busyMax)} / ${percent(busyMean)} | ${load(floor.loadAverage1m)} |`,
    );
  }
  return [...rows, ''];
}

/** Everything that should have been zero or true and was not, or a line saying so. */
function findings(report: SubscriptionReport): string[] {
  const lines: string[] = [];
  for (const floor of report.floors) {
    if (floor.connected < floor.requested || floor.deliveries.missing > 0) lines.push(`- ws alone, ${count(floor.requested)}: ${count(floor.connected)} connected, ${count(floor.deliveries.missing)} deliveries never came.`);
  }
  for (const shape of report.shapes) {
    for (const crowd of shape.crowds) lines.push(...crowdFindings(`${shape.name}, ${count(crowd.requested)} ${crowd.kind}`, crowd));
    if (shape.idle.upstreamClose.afterAnotherEvent) lines.push(`- ${shape.name}, the warm-up subscriber: ${lingeringUpstream(shape.idle.upstreamClose)}`);
  }
  return lines.length > 0 ? ['**Findings.**', '', ...lines] : ['**Findings.** None: every subscriber connected and received every tick once, at most one upstream served each distinct selection, and it closed when the crowd left.'];
}

function crowdFindings(at: string, crowd: CrowdRun): string[] {
  const lines: string[] = [];
  if (crowd.connected < crowd.requested) lines.push(`- ${at}: ${count(crowd.requested - crowd.connected)} did not connect (${tally(crowd.connectFailures)}).`);
  if (!crowd.warmedUp) lines.push(`- ${at}: the warm-up ran out before every subscriber had a price; memory and latency include subscribers not yet attached.`);
  if (crowd.gateway.missing > 0) lines.push(`- ${at}: ${count(crowd.gateway.missing)} of ${count(crowd.gateway.expected)} deliveries through the gateway never came.`);
  if (crowd.gateway.duplicates > 0) lines.push(`- ${at}: ${count(crowd.gateway.duplicates)} deliveries came twice.`);
  for (const [name, consumer] of [['alone', crowd.consumerAlone], ['beside the gateway', crowd.consumerBeside]] as const) {
    if (consumer.missing > 0 || consumer.duplicates > 0) lines.push(`- ${at}: the kafkajs consumer ${name} missed ${consumer.missing} and got ${consumer.duplicates} twice.`);
  }
  if (Object.keys(crowd.closeCodes).length > 0) lines.push(`- ${at}: sockets closed during the run, by close code: ${tally(crowd.closeCodes)}.`);
  if (crowd.completedEarly > 0) lines.push(`- ${at}: the gateway completed ${crowd.completedEarly} subscriptions during the run.`);
  if (Object.keys(crowd.subscriptionErrors).length > 0) lines.push(`- ${at}: subscription errors: ${tally(crowd.subscriptionErrors)}.`);
  if (crowd.foreignEvents > 0) lines.push(`- ${at}: ${crowd.foreignEvents} prices arrived that the benchmark did not publish.`);
  if (crowd.upstreams !== null && crowd.connected > 0 && crowd.upstreams > crowd.selections) lines.push(`- ${at}: the gateway had ${crowd.upstreams} upstream subscriptions open for ${crowd.selections} distinct selections.`);
  if (crowd.socketWrites !== null && crowd.socketWrites !== crowd.gateway.expected) lines.push(`- ${at}: the gateway counted ${count(crowd.socketWrites)} messages written to sockets (\`${DELIVERIES_METRIC}\`) for ${count(crowd.gateway.expected)} expected deliveries.`);
  if (crowd.upstreamClose.afterAnotherEvent) lines.push(`- ${at}: ${lingeringUpstream(crowd.upstreamClose)}`);
  return lines;
}

const HOW_TO_READ = [
  '### How to read it',
  '',
  "- A tick is one `price.updated` event produced straight to Kafka (kafkajs, idempotent, acks all). Through the gateway it goes: broker → the price subgraph's live-feed consumer → its `priceUpdated` resolver → graphql-ws to the gateway, where one upstream subscription serves every subscriber → the gateway completes the event for the subscribers' selections (Apollo's `executeQueryPlan`) → each subscriber's socket. *kafkajs alone* is the first hop only (a plain consumer in the benchmark's process, with no subscriber connected, one sample per tick: with 20 ticks its p99 is its slowest tick).",
  '- The shapes: *production* runs each service as its own OS process (scripts/cluster, one instance each), and the gateway\'s process alone is measured; *one-process* runs the gateway and every subgraph in one child process, as `npm start` does, and that process is measured, subgraphs included (they serve one upstream subscription whatever the crowd, so the growth with the crowd is the gateway\'s). Each shape has its own Kafka broker and PostgreSQL server; both run throughout and take turns crowd by crowd.',
  "- Latency runs from just before the send (in the benchmark's process) to the moment a client process read the `next` message, both on the machine's clock (`performance.timeOrigin + performance.now()`), over every (subscriber, tick) pair. The sockets are spread over the client processes, which read them in parallel; *client processes busy* is each one's CPU time over the ticks' fan-outs (from each publish to its last delivery) per second of them: the largest near 100 % would mean a client, not the gateway, set the p99.",
  '- *gateway CPU* is the measured process\'s CPU time (/proc/<pid>/stat) over the measured ticks, pauses included, per delivery (subscriber and tick) and per tick. It includes the process\'s own background work over the same seconds (timers, keep-alive pings to every socket, garbage collection), which weighs most at small crowds.',
  `- *executions per tick* is the gateway's \`${EXECUTIONS_METRIC}\` over the measured ticks, per tick: how many times it ran a subscription's plan for one event. A gateway that shapes the event once per group of identical subscribers shows about the number of selections; one that runs it per subscriber shows the crowd. *not exposed* means the gateway has no such counter yet.`,
  '- Identical subscriptions share one upstream subscription to the price subgraph; a mixed crowd may hold one per distinct selection (the findings say so only when there are more). The upstream count is the gateway\'s `ecocoin_gateway_subscription_upstreams` gauge, read with the crowd connected and again after it left (it should fall to 0).',
  '- *ws alone* is the floor: the same client processes and crowd on a plain `ws` server that writes each tick to every socket and nothing else, timed from just before the benchmark tells it the tick (over IPC). Its CPU per socket write is mostly the kernel\'s: on loopback the sending process also pays for the receiving side\'s TCP processing. The gateway\'s latency less this is what GraphQL, Kafka and the subgraph hop add.',
  "- Memory is the measured process's, read after a full garbage collection (the production gateway through the inspector protocol: HeapProfiler.collectGarbage, Runtime.getHeapUsage; the one-process child through `--expose-gc`): RSS from `/proc/<pid>/status`, and V8's heap in use. Per subscriber = (value with the crowd − the idle value) / subscribers: the socket, its graphql-ws connection and subscription, the gateway's per-subscriber state. Kernel socket buffers are not in RSS. RSS per subscriber is coarse (the allocator keeps pages freed earlier, so a small crowd can fit in them); the heap per subscriber is the steadier figure.",
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
