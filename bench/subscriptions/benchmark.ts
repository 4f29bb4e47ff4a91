import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectData } from '../ledger/graphql.js';
import { holdsWithin, settlesWithin } from './bounded-wait.js';
import { type Crowd, gatherCrowd } from './crowd.js';
import { consumerDeliveries, subscriberDeliveries } from './deliveries.js';
import { type Infrastructure, startInfrastructure } from './infrastructure.js';
import { type PlatformProcess, startPlatformProcess } from './platform-process.js';
import type { ChildStats } from './platform-protocol.js';
import { type PriceEvents, startPriceEvents } from './price-events.js';
import { type CrowdRun, describeSoftware, type MemorySample, type SubscriptionReport, type UpstreamClose, writeReport } from './report.js';
import type { SubscriptionSettings } from './settings.js';
import { TickBoard, uniquePrices } from './ticks.js';

/** A tick every subscriber has not received by then is counted missing (unless it comes later); the next one goes out. */
const TICK_DELIVERY_TIMEOUT_MS = 10_000;
/** Warm-up ticks go out this often until every receiver has had one. */
const WARMUP_TICK_WAIT_MS = 1_000;
const WARMUP_TIMEOUT_MS = 60_000;
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

/** What every phase works with. */
interface Session {
  settings: SubscriptionSettings;
  platform: PlatformProcess;
  events: PriceEvents;
  token: string;
  nextPrice: () => string;
  progress: (line: string) => void;
}

/**
 * Starts Kafka and PostgreSQL here and the subgraphs and gateway in a child process, then for every crowd
 * size measures Kafka-to-client latency through the gateway beside a plain kafkajs consumer, and the child's
 * memory per subscriber, and writes the report. Everything started is stopped at the end, on failure too.
 */
export async function runSubscriptionBenchmark(settings: SubscriptionSettings, progress: (line: string) => void): Promise<SubscriptionReport> {
  await assertOpenFilesSuffice(Math.max(...settings.subscriberCounts));
  const startedAtMs = performance.now();
  const loadAverageAtStart = loadAverage1m();
  const workDir = await mkdtemp(join(tmpdir(), 'ecocoin-bench-subscriptions-'));
  // When we run as root, PostgreSQL runs as its own user and must be able to enter this folder.
  await chmod(workDir, 0o755);
  let infrastructure: Infrastructure | undefined;
  let platform: PlatformProcess | undefined;
  let events: PriceEvents | undefined;
  try {
    progress('starting Kafka, PostgreSQL and anvil…');
    infrastructure = await startInfrastructure(workDir);
    progress('starting the subgraphs and the gateway in a child process…');
    platform = await startPlatformProcess({
      KAFKA_BROKERS: infrastructure.brokers.join(','),
      KAFKA_TOPIC_PREFIX: infrastructure.topicPrefix,
      JWT_SECRET: randomBytes(24).toString('hex'),
      GATEWAY_SECRET: randomBytes(24).toString('hex'),
      BENCH_POSTGRES_URL: infrastructure.postgresUrl,
      ETH_RPC_URL: infrastructure.chain.rpcUrl,
      CONTRACT_ADDRESSES: infrastructure.chain.contractAddressesJson,
    });
    events = await startPriceEvents(infrastructure.brokers, infrastructure.topicPrefix);
    const token = await registerSubscriber(platform.gatewayUrl);
    const session: Session = { settings, platform, events, token, nextPrice: uniquePrices(), progress };

    const idle = await measureIdle(session);
    const crowds: CrowdRun[] = [];
    for (const size of settings.subscriberCounts) crowds.push(await measureCrowd(session, size, idle));
    const afterAll = await sampleMemory(platform);
    const report: SubscriptionReport = {
      date: new Date().toISOString().slice(0, 10),
      settings,
      loadAverage1m: { start: loadAverageAtStart, end: loadAverage1m() },
      software: describeSoftware(infrastructure.kafkaDescription),
      subgraphs: platform.subgraphs,
      idle,
      crowds,
      afterAll,
      durationSeconds: (performance.now() - startedAtMs) / 1000,
    };
    const written = await writeReport(report);
    progress(written.markdown);
    progress(`written: ${written.paths.join(', ')}`);
    return report;
  } finally {
    try {
      await events?.stop();
      await platform?.stop();
    } finally {
      try {
        await infrastructure?.stop();
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    }
  }
}

/** The child's memory with no subscriber, after one came, got a tick and went, so lazily built parts count as idle. */
async function measureIdle(session: Session): Promise<MemorySample & { upstreamClose: UpstreamClose }> {
  session.progress('one warm-up subscriber…');
  let board: TickBoard | null = null;
  const crowd = await gatherCrowd({ gatewayUrl: session.platform.gatewayUrl, token: session.token, count: 1, batch: 1, onPrice: (index, value) => board?.subscriberReceived(index, value) });
  try {
    if (crowd.connected !== 1) throw new Error(`the warm-up subscriber did not connect: ${JSON.stringify(crowd.connectFailures)}`);
    const warmUpBoard = new TickBoard(1, session.nextPrice);
    board = warmUpBoard;
    session.events.onConsumed = (value) => warmUpBoard.consumerReceived(value);
    if (!(await warmUp(session, warmUpBoard))) throw new Error('the warm-up subscriber received no price within the warm-up time');
  } finally {
    await crowd.dismiss();
  }
  const upstreamClose = await awaitUpstreamClose(session);
  const memory = await sampleMemory(session.platform);
  session.progress(`idle: ${formatMemory(memory)}`);
  return { ...memory, upstreamClose };
}

/**
 * One crowd size: the plain consumer alone first (no subscriber connected), then the crowd connects, warms
 * up, has its memory read, and receives the measured ticks with the consumer beside it; then it leaves.
 */
async function measureCrowd(session: Session, size: number, idle: MemorySample): Promise<CrowdRun> {
  const { settings, platform, events, progress } = session;
  const alone = new TickBoard(0, session.nextPrice);
  events.onConsumed = (value) => alone.consumerReceived(value);
  await warmUp(session, alone);
  await publishTicks(session, alone);
  progress(`${String(size).padStart(5)} subscribers: kafkajs alone ${formatDeliveries(consumerDeliveries(alone))}`);

  progress(`${String(size).padStart(5)} subscribers: connecting in batches of ${settings.connectBatch}…`);
  let board: TickBoard | null = null;
  const crowd = await gatherCrowd({ gatewayUrl: platform.gatewayUrl, token: session.token, count: size, batch: settings.connectBatch, onPrice: (index, value) => board?.subscriberReceived(index, value) });
  let run: Omit<CrowdRun, 'upstreamClose'>;
  try {
    progress(`${String(size).padStart(5)} subscribers: ${crowd.connected} connected in ${crowd.connectSeconds.toFixed(1)} s${crowd.connected < size ? `, failures: ${JSON.stringify(crowd.connectFailures)}` : ''}`);
    const crowdBoard = new TickBoard(crowd.connected, session.nextPrice);
    board = crowdBoard;
    events.onConsumed = (value) => crowdBoard.consumerReceived(value);
    const warmedUp = await warmUp(session, crowdBoard);
    const memory = await sampleMemory(platform);
    progress(`${String(size).padStart(5)} subscribers: ${formatMemory(memory)}, ${(((memory.residentBytes - idle.residentBytes) / Math.max(1, crowd.connected)) / 1024).toFixed(1)} KB RSS per subscriber`);
    const load = await measureLoad(platform, () => publishTicks(session, crowdBoard));
    run = describeCrowd(crowd, crowdBoard, alone, memory, load, warmedUp);
    progress(`${String(size).padStart(5)} subscribers: gateway ${formatDeliveries(run.gateway)}; kafkajs beside it ${formatDeliveries(run.consumerBeside)}`);
  } finally {
    await crowd.dismiss();
  }
  const upstreamClose = await awaitUpstreamClose(session);
  return { ...run, upstreamClose };
}

function describeCrowd(crowd: Crowd, board: TickBoard, alone: TickBoard, memory: MemorySample, load: Awaited<ReturnType<typeof measureLoad>>, warmedUp: boolean): Omit<CrowdRun, 'upstreamClose'> {
  return {
    requested: crowd.requested,
    connected: crowd.connected,
    connectFailures: crowd.connectFailures,
    connectSeconds: crowd.connectSeconds,
    warmedUp,
    memory,
    gateway: subscriberDeliveries(board),
    consumerAlone: consumerDeliveries(alone),
    consumerBeside: consumerDeliveries(board),
    lostConnections: crowd.lostConnections,
    subscriptionErrors: crowd.subscriptionErrors,
    completedEarly: crowd.completedEarly,
    foreignEvents: board.foreignEvents + alone.foreignEvents,
    ...load,
    loadAverage1m: loadAverage1m(),
  };
}

/**
 * Unmeasured ticks, one a second, until every receiver of the board has had one: only then is a subscriber
 * surely attached to the gateway's upstream, and the consumer past its first fetch. False if the bound ran out.
 */
async function warmUp(session: Session, board: TickBoard): Promise<boolean> {
  const deadlineMs = performance.now() + WARMUP_TIMEOUT_MS;
  while (!board.allHaveOne) {
    if (performance.now() > deadlineMs) {
      session.progress(`warm-up gave up after ${WARMUP_TIMEOUT_MS / 1000} s: ${board.subscribersWithOne} of ${board.subscriberCount} subscribers and ${board.consumerHasOne ? 'the' : 'not the'} consumer had a price`);
      return false;
    }
    const tick = board.issue(false);
    await session.events.publish(tick);
    await settlesWithin(tick.delivered, WARMUP_TICK_WAIT_MS);
  }
  return true;
}

/** The measured ticks, one at a time: each goes out once the one before has reached everyone (or timed out), after a pause. */
async function publishTicks(session: Session, board: TickBoard): Promise<void> {
  for (let index = 0; index < session.settings.ticks; index += 1) {
    if (index > 0 && session.settings.tickPauseMs > 0) await sleep(session.settings.tickPauseMs);
    const tick = board.issue(true);
    await session.events.publish(tick);
    await settlesWithin(tick.delivered, TICK_DELIVERY_TIMEOUT_MS);
  }
}

/** What the child and this process spent while `work` ran. */
async function measureLoad(platform: PlatformProcess, work: () => Promise<void>) {
  const before = await platform.stats();
  const startedAtMs = performance.now();
  const benchLoopBefore = performance.eventLoopUtilization();
  await work();
  const benchLoop = performance.eventLoopUtilization(benchLoopBefore);
  const wallMs = performance.now() - startedAtMs;
  const after = await platform.stats();
  const cpuMicros = after.cpuMicros - before.cpuMicros;
  return {
    platformCpuMicros: cpuMicros,
    platformCpuPercent: (cpuMicros / 1000 / wallMs) * 100,
    platformLoopBusy: loopBusy(before, after),
    benchLoopBusy: benchLoop.utilization,
  };
}

function loopBusy(before: ChildStats, after: ChildStats): number {
  const activeMs = after.loop.activeMs - before.loop.activeMs;
  const idleMs = after.loop.idleMs - before.loop.idleMs;
  return activeMs + idleMs > 0 ? activeMs / (activeMs + idleMs) : Number.NaN;
}

/**
 * Waits for the gateway to close its upstream subscription once no subscriber is left. If it has not within
 * the bound, one more event is published (no subscriber receives it) and the wait starts again: an upstream
 * that only notices its subscribers left when the next event comes is a finding of its own.
 */
async function awaitUpstreamClose(session: Session): Promise<UpstreamClose> {
  const closed = () => session.platform.stats().then((stats) => stats.upstreams === 0);
  const startedAtMs = performance.now();
  if (await holdsWithin(closed, UPSTREAM_CLOSE_TIMEOUT_MS, UPSTREAM_POLL_INTERVAL_MS)) return { closedAfterMs: performance.now() - startedAtMs, afterAnotherEvent: false };
  session.progress(`the upstream subscription was still open ${UPSTREAM_CLOSE_TIMEOUT_MS / 1000} s after the last subscriber left; publishing one more price`);
  const board = new TickBoard(0, session.nextPrice);
  session.events.onConsumed = (value) => board.consumerReceived(value);
  await session.events.publish(board.issue(false));
  const closedAfterEvent = await holdsWithin(closed, UPSTREAM_CLOSE_TIMEOUT_MS, UPSTREAM_POLL_INTERVAL_MS);
  return { closedAfterMs: closedAfterEvent ? performance.now() - startedAtMs : null, afterAnotherEvent: true };
}

/** After a full garbage collection in the child: its resident set, heap and upstream count. */
async function sampleMemory(platform: PlatformProcess): Promise<MemorySample> {
  await platform.collectGarbage();
  const stats = await platform.stats();
  return { residentBytes: await platform.residentBytes(), heapUsedBytes: stats.memory.heapUsed, externalBytes: stats.memory.external, upstreams: stats.upstreams };
}

async function registerSubscriber(gatewayUrl: string): Promise<string> {
  const input = { email: 'bench-subscriber@ecocoin.local', password: randomBytes(12).toString('hex'), displayName: 'Bench subscriber', role: 'BUYER' };
  const { register } = await expectData<{ register: { token: string } }>(gatewayUrl, REGISTER, { input });
  return register.token;
}

/**
 * Each subscriber is a socket here and one in the child, and each process has the same limit; Node cannot
 * raise it itself, so a limit too low stops the run before anything starts.
 */
async function assertOpenFilesSuffice(subscribersMax: number): Promise<void> {
  const limits = await readFile('/proc/self/limits', 'utf8');
  const soft = Number(/^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1] ?? Number.NaN);
  const needed = subscribersMax + OPEN_FILES_HEADROOM;
  if (soft < needed) {
    throw new Error(`The open-files limit is ${soft}; ${subscribersMax} subscribers need about ${needed} in this process and as many in the platform's. Raise it in this shell first (ulimit -n ${Math.max(needed, 16_384)}) or set BENCH_SUBSCRIBERS lower.`);
  }
}

const loadAverage1m = () => loadavg()[0] ?? Number.NaN;
const formatMemory = (memory: MemorySample) => `RSS ${(memory.residentBytes / 1024 ** 2).toFixed(1)} MB, heap ${(memory.heapUsedBytes / 1024 ** 2).toFixed(1)} MB, ${memory.upstreams} upstream`;
const formatDeliveries = (deliveries: ReturnType<typeof subscriberDeliveries>) =>
  `${deliveries.delivered}/${deliveries.expected} delivered, p50 ${deliveries.latencyMs.p50.toFixed(1)} ms, p99 ${deliveries.latencyMs.p99.toFixed(1)} ms`;
