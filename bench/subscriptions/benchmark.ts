import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectData } from '../ledger/graphql.js';
import { cpuBetween, type CpuPart, ProcessCpu } from '../ledger/process-cpu.js';
import { holdsWithin, settlesWithin } from './bounded-wait.js';
import { type BareWebSocketServer, startBareWebSocketServer } from './bare-ws.js';
import { ClientProcesses } from './client-processes.js';
import { consumerDeliveries, foreignPrices, subscriberDeliveries } from './deliveries.js';
import { counterDelta, EXECUTIONS_METRIC, DELIVERIES_METRIC, readGatewayCounters, UPSTREAMS_METRIC } from './gateway-metrics.js';
import { type PriceEvents, startPriceEvents } from './price-events.js';
import { type CrowdRun, describeSoftware, type FloorRun, type IdleGateway, type ShapeRun, type SubscriptionReport, type UpstreamClose, writeReport } from './report.js';
import { selectionCountOf } from './selections.js';
import type { CrowdKind, SubscriptionSettings } from './settings.js';
import { type GatewayMemory, type RunningShape, startShape } from './shapes.js';
import { epochMs, TickBoard, uniquePrices } from './ticks.js';

/** A tick every subscriber has not received by then is counted missing (unless it comes later); the next one goes out. */
const TICK_DELIVERY_TIMEOUT_MS = 10_000;
/** Warm-up ticks go out this often (plus SUBSCRIBER_WARMUP_MS a subscriber, for the fan-out) until every receiver has had one. */
const WARMUP_TICK_WAIT_MS = 1_000;
const SUBSCRIBER_WARMUP_MS = 0.5;
const WARMUP_TIMEOUT_MS = 120_000;
/** After the last subscriber leaves, the gateway should close its upstream subscription within this. */
const UPSTREAM_CLOSE_TIMEOUT_MS = 10_000;
const UPSTREAM_POLL_INTERVAL_MS = 100;
/** Descriptors beyond the sockets: PostgreSQL pools, Kafka connections, files, Node's own. */
const OPEN_FILES_HEADROOM = 1_024;

const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) { token }
  }
`;

/** One running shape and what the benchmark keeps beside it. */
interface ShapeSession {
  shape: RunningShape;
  events: PriceEvents;
  /** The connection_init payload every subscriber sends; null for anonymous subscribers. */
  connectionParams: Record<string, string> | null;
  idle?: IdleGateway;
  crowds: CrowdRun[];
}

/** What every phase works with. */
interface Bench {
  settings: SubscriptionSettings;
  clients: ClientProcesses;
  cpu: ProcessCpu;
  nextPrice: () => string;
  progress: (line: string) => void;
}

/**
 * Starts every shape asked for and the client processes, then for every crowd size and kind, shape after shape
 * (the order turning at every cell, so the machine's drift falls on both alike), measures Kafka-to-client latency
 * through the gateway beside a plain kafkajs consumer, the gateway's CPU and memory per subscriber and what the
 * client processes spent, and writes the report. Everything started is stopped at the end, on failure too.
 */
export async function runSubscriptionBenchmark(settings: SubscriptionSettings, progress: (line: string) => void): Promise<SubscriptionReport> {
  await assertOpenFilesSuffice(Math.max(...settings.subscriberCounts));
  const startedAtMs = performance.now();
  const loadAverageAtStart = loadAverage1m();
  const workDir = await mkdtemp(join(tmpdir(), 'ecocoin-bench-subscriptions-'));
  // When we run as root, PostgreSQL runs as its own user and must be able to enter this folder.
  await chmod(workDir, 0o755);
  const sessions: ShapeSession[] = [];
  const started: RunningShape[] = [];
  const eventStreams: PriceEvents[] = [];
  let clients: ClientProcesses | undefined;
  let bare: BareWebSocketServer | undefined;
  try {
    const cpu = await ProcessCpu.open();
    for (const name of settings.shapes) {
      progress(`starting the ${name} shape (Kafka, PostgreSQL, anvil and the services)…`);
      const dataDir = join(workDir, name);
      await mkdir(dataDir, { recursive: true });
      const shape = await startShape(name, dataDir);
      started.push(shape);
      const events = await startPriceEvents(shape.kafka.brokers, shape.kafka.topicPrefix);
      eventStreams.push(events);
      const connectionParams = settings.subscriberAuth === 'user' ? { authorization: `Bearer ${await registerSubscriber(shape.gatewayUrl)}` } : null;
      sessions.push({ shape, events, connectionParams, crowds: [] });
    }
    progress(`starting ${settings.clientProcesses} client processes…`);
    clients = await ClientProcesses.start(settings.clientProcesses);
    bare = await startBareWebSocketServer();
    const bench: Bench = { settings, clients, cpu, nextPrice: uniquePrices(), progress };
    for (const session of sessions) session.idle = await measureIdle(bench, session);
    const floors: FloorRun[] = [];
    let cell = 0;
    for (const size of settings.subscriberCounts) {
      for (const kind of settings.crowds) {
        const order = cell % 2 === 0 ? sessions : [...sessions].reverse();
        // The floor takes its turn with the uniform crowds, first or last as the order turns.
        if (kind === 'uniform' && cell % 2 === 1) floors.push(await measureFloor(bench, bare, size));
        for (const session of order) session.crowds.push(await measureCrowd(bench, session, size, kind));
        if (kind === 'uniform' && cell % 2 === 0) floors.push(await measureFloor(bench, bare, size));
        cell += 1;
      }
    }
    const shapes: ShapeRun[] = [];
    for (const session of sessions) shapes.push({ name: session.shape.name, measuredProcess: session.shape.measuredProcess, idle: session.idle!, crowds: session.crowds, afterAll: await session.shape.gatewayMemory() });
    const report: SubscriptionReport = {
      date: new Date().toISOString().slice(0, 10),
      settings,
      loadAverage1m: { start: loadAverageAtStart, end: loadAverage1m() },
      software: describeSoftware(sessions[0]!.shape.kafka.description),
      shapes,
      floors,
      durationSeconds: (performance.now() - startedAtMs) / 1000,
    };
    const written = await writeReport(report);
    progress(written.markdown);
    progress(`written: ${written.paths.join(', ')}`);
    return report;
  } finally {
    try {
      await clients?.stop();
      await bare?.stop();
      await Promise.allSettled(eventStreams.map((events) => events.stop()));
      for (const shape of [...started].reverse()) await shape.stop();
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}

/** The gateway's memory with no subscriber, after one came, got a tick and went, so lazily built parts count as idle. */
async function measureIdle(bench: Bench, session: ShapeSession): Promise<IdleGateway> {
  const { shape } = session;
  bench.progress(`${shape.name}: one warm-up subscriber…`);
  const crowd = await bench.clients.gather({ url: shape.webSocketUrl, count: 1, selectionCount: 1, batch: 1, connectionParams: session.connectionParams });
  try {
    if (crowd.connected !== 1) {
      // graphql-ws's close code for a connection that is not authenticated: this gateway does not admit anonymous subscribers.
      const hint = session.connectionParams === null && Object.keys(crowd.connectFailures).some((failure) => failure.includes('4401')) ? '; this gateway refuses subscribers without a token: run with BENCH_SUBSCRIBER_AUTH=user' : '';
      throw new Error(`the warm-up subscriber did not connect to the ${shape.name} gateway: ${JSON.stringify(crowd.connectFailures)}${hint}`);
    }
    if (!(await warmUp(bench, session, new TickBoard(true, bench.nextPrice), 1))) throw new Error('the warm-up subscriber received no price within the warm-up time');
  } finally {
    await bench.clients.dismiss();
  }
  const upstreamClose = await awaitUpstreamClose(bench, session);
  const memory = await shape.gatewayMemory();
  bench.progress(`${shape.name}: idle gateway ${formatMemory(memory)}`);
  return { ...memory, upstreamClose };
}

/**
 * One crowd in one shape: the plain consumer alone first (no subscriber connected), then the crowd connects over
 * the client processes, warms up, has the gateway's memory read, and receives the measured ticks with the
 * consumer beside it; then it leaves.
 */
async function measureCrowd(bench: Bench, session: ShapeSession, size: number, kind: CrowdKind): Promise<CrowdRun> {
  const { settings, clients, progress } = bench;
  const { shape, events } = session;
  const label = `${shape.name}, ${String(size).padStart(5)} ${kind}`;
  const alone = new TickBoard(false, bench.nextPrice);
  await warmUp(bench, session, alone, 0);
  await publishTicks(bench, session, alone, []);
  progress(`${label}: kafkajs alone ${formatDeliveries(consumerDeliveries(alone))}`);

  const selections = selectionCountOf(kind);
  const crowd = await clients.gather({ url: shape.webSocketUrl, count: size, selectionCount: selections, batch: settings.connectBatch, connectionParams: session.connectionParams });
  try {
    progress(`${label}: ${crowd.connected} connected in ${crowd.connectSeconds.toFixed(1)} s${crowd.connected < size ? `, failures: ${JSON.stringify(crowd.connectFailures)}` : ''}`);
    const board = new TickBoard(true, bench.nextPrice);
    const warmedUp = await warmUp(bench, session, board, crowd.connected);
    const memory = await shape.gatewayMemory();
    const upstreams = (await readGatewayCounters(shape.metricsUrl))[UPSTREAMS_METRIC];
    const load = await measureTicks(bench, session, board);
    const records = await clients.collect();
    const gateway = subscriberDeliveries(board, records, crowd.connected);
    const run: Omit<CrowdRun, 'upstreamClose'> = {
      kind,
      selections,
      requested: size,
      connected: crowd.connected,
      connectFailures: crowd.connectFailures,
      connectSeconds: crowd.connectSeconds,
      warmedUp,
      memory,
      upstreams,
      gateway,
      consumerAlone: consumerDeliveries(alone),
      consumerBeside: consumerDeliveries(board),
      closeCodes: sumTallies(records.map((record) => record.closeCodes)),
      subscriptionErrors: sumTallies(records.map((record) => record.subscriptionErrors)),
      completedEarly: records.reduce((sum, record) => sum + record.completedEarly, 0),
      foreignEvents: board.foreignEvents + alone.foreignEvents + foreignPrices(board, records),
      ...load,
      loadAverage1m: loadAverage1m(),
    };
    progress(`${label}: ${formatDeliveries(gateway)}; gateway ${formatCpu(run)}, ${formatMemory(memory)}; client processes busy ${run.clientBusy.map((share) => `${Math.round(share * 100)} %`).join(', ')}`);
    await clients.dismiss();
    return { ...run, upstreamClose: await awaitUpstreamClose(bench, session) };
  } catch (error) {
    await clients.dismiss().catch(() => {});
    throw error;
  }
}

/**
 * The same crowd on a plain ws server that writes each tick to every socket and does nothing else
 * (bare-ws-child.ts): what the sockets alone cost on this machine, under the gateway's figures. A tick is stamped
 * just before the server is told it over IPC; there is no Kafka hop to wait for.
 */
async function measureFloor(bench: Bench, bare: BareWebSocketServer, size: number): Promise<FloorRun> {
  const { settings, clients, progress } = bench;
  const label = `ws alone, ${String(size).padStart(5)} uniform`;
  const crowd = await clients.gather({ url: bare.url, count: size, selectionCount: 1, batch: settings.connectBatch, connectionParams: null });
  try {
    const board = new TickBoard(true, bench.nextPrice);
    clients.onComplete = (value) => board.clientsHaveIt(value);
    const send = async (measured: boolean) => {
      const tick = board.issue(measured);
      clients.expect(tick.value);
      tick.publishedAtMs = epochMs();
      bare.tick(tick.value);
      // No consumer here: the hop it stands for does not exist.
      tick.consumerReceived(tick.publishedAtMs);
      await settlesWithin(tick.delivered, TICK_DELIVERY_TIMEOUT_MS);
    };
    const deadlineMs = performance.now() + WARMUP_TIMEOUT_MS;
    do await send(false);
    while ((await clients.subscribersWithOne()) < crowd.connected && performance.now() < deadlineMs);
    const serverPart: CpuPart = { name: 'server', pid: bare.pid, scope: 'process' };
    const clientParts: CpuPart[] = clients.pids.map((pid, index) => ({ name: `client ${index}`, pid, scope: 'process' }));
    const before = bench.cpu.read([serverPart]);
    const clientCpuMs: Record<string, number> = {};
    let fanOutMs = 0;
    for (let index = 0; index < settings.ticks; index += 1) {
      if (index > 0 && settings.tickPauseMs > 0) await sleep(settings.tickPauseMs);
      const clientsBefore = bench.cpu.read(clientParts);
      const startedAtMs = performance.now();
      await send(true);
      fanOutMs += performance.now() - startedAtMs;
      for (const [name, ms] of Object.entries(cpuBetween(clientsBefore, bench.cpu.read(clientParts)))) clientCpuMs[name] = (clientCpuMs[name] ?? 0) + ms;
    }
    const serverCpuMs = cpuBetween(before, bench.cpu.read([serverPart])).server ?? Number.NaN;
    const deliveries = subscriberDeliveries(board, await clients.collect(), crowd.connected);
    const run: FloorRun = {
      requested: size,
      connected: crowd.connected,
      deliveries,
      serverCpuMs,
      clientBusy: clientParts.map((part) => (fanOutMs > 0 ? (clientCpuMs[part.name] ?? Number.NaN) / fanOutMs : Number.NaN)),
      loadAverage1m: loadAverage1m(),
    };
    progress(`${label}: ${formatDeliveries(deliveries)}; server ${deliveries.delivered > 0 ? Math.round((serverCpuMs * 1000) / deliveries.delivered) : '–'} µs CPU per socket write`);
    return run;
  } finally {
    await clients.dismiss();
  }
}

/**
 * The measured ticks, with the gateway's CPU time and counters read around them all, and each client process's
 * CPU time around each tick's fan-out (publish to last delivery), so its busy share is over the moments it had
 * sockets to read, not over the pauses between ticks.
 */
async function measureTicks(bench: Bench, session: ShapeSession, board: TickBoard) {
  const { shape } = session;
  const gatewayPart: CpuPart = { name: 'gateway', pid: shape.gatewayPid, scope: 'process' };
  const clientParts: CpuPart[] = bench.clients.pids.map((pid, index) => ({ name: `client ${index}`, pid, scope: 'process' }));
  const countersBefore = await readGatewayCounters(shape.metricsUrl);
  const before = bench.cpu.read([gatewayPart]);
  const startedAtMs = performance.now();
  const fanOut = await publishTicks(bench, session, board, clientParts);
  const windowSeconds = (performance.now() - startedAtMs) / 1000;
  const gatewayCpuMs = cpuBetween(before, bench.cpu.read([gatewayPart])).gateway ?? Number.NaN;
  const countersAfter = await readGatewayCounters(shape.metricsUrl);
  return {
    gatewayCpuMs,
    windowSeconds,
    executions: counterDelta(countersBefore, countersAfter, EXECUTIONS_METRIC),
    socketWrites: counterDelta(countersBefore, countersAfter, DELIVERIES_METRIC),
    clientBusy: clientParts.map((part) => (fanOut.wallMs > 0 ? (fanOut.cpuMs[part.name] ?? Number.NaN) / fanOut.wallMs : Number.NaN)),
  };
}

/**
 * Unmeasured ticks until the consumer and every connected subscriber have had one: only then is a subscriber
 * surely attached to the gateway's upstream, and the consumer past its first fetch. False if the bound ran out.
 */
async function warmUp(bench: Bench, session: ShapeSession, board: TickBoard, subscribers: number): Promise<boolean> {
  const deadlineMs = performance.now() + WARMUP_TIMEOUT_MS;
  const tickWaitMs = Math.min(TICK_DELIVERY_TIMEOUT_MS, WARMUP_TICK_WAIT_MS + subscribers * SUBSCRIBER_WARMUP_MS);
  bench.clients.onComplete = (value) => board.clientsHaveIt(value);
  session.events.onConsumed = (value) => board.consumerReceived(value);
  let withOne = 0;
  for (;;) {
    if (performance.now() > deadlineMs) {
      const records = board.withSubscribers ? await bench.clients.collect() : [];
      const errors = JSON.stringify({ closeCodes: records.map((record) => record.closeCodes), subscriptionErrors: records.map((record) => record.subscriptionErrors) });
      bench.progress(`warm-up gave up after ${WARMUP_TIMEOUT_MS / 1000} s: ${withOne} of ${subscribers} subscribers and ${board.consumerHasOne ? 'the' : 'not the'} consumer had a price; the client processes saw ${errors}`);
      return false;
    }
    const tick = board.issue(false);
    if (board.withSubscribers) bench.clients.expect(tick.value);
    await session.events.publish(tick);
    await settlesWithin(tick.delivered, tickWaitMs);
    if (!board.consumerHasOne) continue;
    if (!board.withSubscribers) return true;
    withOne = await bench.clients.subscribersWithOne();
    if (withOne >= subscribers) return true;
  }
}

/**
 * The measured ticks, one at a time: each goes out once the one before has reached everyone (or timed out), after
 * a pause. Resolves with the CPU time of `clientParts` summed over the fan-outs, and their wall time.
 */
async function publishTicks(bench: Bench, session: ShapeSession, board: TickBoard, clientParts: CpuPart[]) {
  const { settings } = bench;
  const cpuMs: Record<string, number> = {};
  let wallMs = 0;
  bench.clients.onComplete = (value) => board.clientsHaveIt(value);
  session.events.onConsumed = (value) => board.consumerReceived(value);
  for (let index = 0; index < settings.ticks; index += 1) {
    if (index > 0 && settings.tickPauseMs > 0) await sleep(settings.tickPauseMs);
    const tick = board.issue(true);
    if (board.withSubscribers) bench.clients.expect(tick.value);
    const before = bench.cpu.read(clientParts);
    const startedAtMs = performance.now();
    await session.events.publish(tick);
    await settlesWithin(tick.delivered, TICK_DELIVERY_TIMEOUT_MS);
    wallMs += performance.now() - startedAtMs;
    for (const [name, ms] of Object.entries(cpuBetween(before, bench.cpu.read(clientParts)))) cpuMs[name] = (cpuMs[name] ?? 0) + ms;
  }
  return { cpuMs, wallMs };
}

/**
 * Waits for the gateway to close its upstream subscription once no subscriber is left (its
 * `ecocoin_gateway_subscription_upstreams` gauge back at 0). If it has not within the bound, one more event is
 * published (no subscriber receives it) and the wait starts again: an upstream that only notices its subscribers
 * left when the next event comes is a finding of its own.
 */
async function awaitUpstreamClose(bench: Bench, session: ShapeSession): Promise<UpstreamClose> {
  const closed = () => readGatewayCounters(session.shape.metricsUrl).then((counters) => (counters[UPSTREAMS_METRIC] ?? 0) === 0);
  const startedAtMs = performance.now();
  if (await holdsWithin(closed, UPSTREAM_CLOSE_TIMEOUT_MS, UPSTREAM_POLL_INTERVAL_MS)) return { closedAfterMs: performance.now() - startedAtMs, afterAnotherEvent: false };
  bench.progress(`${session.shape.name}: the upstream subscription was still open ${UPSTREAM_CLOSE_TIMEOUT_MS / 1000} s after the last subscriber left; publishing one more price`);
  const board = new TickBoard(false, bench.nextPrice);
  session.events.onConsumed = (value) => board.consumerReceived(value);
  await session.events.publish(board.issue(false));
  const closedAfterEvent = await holdsWithin(closed, UPSTREAM_CLOSE_TIMEOUT_MS, UPSTREAM_POLL_INTERVAL_MS);
  return { closedAfterMs: closedAfterEvent ? performance.now() - startedAtMs : null, afterAnotherEvent: true };
}

async function registerSubscriber(gatewayUrl: string): Promise<string> {
  const input = { email: 'bench-subscriber@ecocoin.local', password: randomBytes(12).toString('hex'), displayName: 'Bench subscriber', role: 'BUYER' };
  const { register } = await expectData<{ register: { token: string } }>(gatewayUrl, REGISTER, { input });
  return register.token;
}

/**
 * The gateway holds a socket per subscriber, and the client processes one each between them; every process here
 * inherits this one's limit, and Node cannot raise it itself, so a limit too low stops the run before anything starts.
 */
async function assertOpenFilesSuffice(subscribersMax: number): Promise<void> {
  const limits = await readFile('/proc/self/limits', 'utf8');
  const soft = Number(/^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1] ?? Number.NaN);
  const needed = subscribersMax + OPEN_FILES_HEADROOM;
  if (soft < needed) {
    throw new Error(
      `The open-files limit is ${soft}; ${subscribersMax} subscribers need about ${needed} in the gateway's process (which inherits this shell's limit), one socket each plus ${OPEN_FILES_HEADROOM} for the rest. Raise it in this shell first (ulimit -n ${Math.max(needed, 16_384)}) or set BENCH_SUBSCRIBERS lower.`,
    );
  }
}

function sumTallies(tallies: Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const tally of tallies) for (const [key, times] of Object.entries(tally)) sum[key] = (sum[key] ?? 0) + times;
  return sum;
}

const loadAverage1m = () => loadavg()[0] ?? Number.NaN;
const formatMemory = (memory: GatewayMemory) => `RSS ${(memory.residentBytes / 1024 ** 2).toFixed(1)} MB, heap ${(memory.heapUsedBytes / 1024 ** 2).toFixed(1)} MB`;
const formatCpu = (run: Pick<CrowdRun, 'gatewayCpuMs' | 'gateway' | 'executions'>) =>
  `${run.gateway.delivered > 0 ? Math.round((run.gatewayCpuMs * 1000) / run.gateway.delivered) : '–'} µs CPU per delivery${run.executions === null ? '' : `, ${run.executions} plan executions`}`;
const formatDeliveries = (deliveries: ReturnType<typeof consumerDeliveries>) =>
  `${deliveries.delivered}/${deliveries.expected} delivered, p50 ${deliveries.latencyMs.p50.toFixed(1)} ms, p99 ${deliveries.latencyMs.p99.toFixed(1)} ms, max ${deliveries.latencyMs.max.toFixed(1)} ms`;
