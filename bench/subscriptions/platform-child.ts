/**
 * The platform under measurement, in a process of its own so that its memory is measured apart from the
 * benchmark's client sockets: every subgraph of scripts/subgraphs.ts and the gateway, wired as `npm start`
 * wires them, over the PostgreSQL server and Kafka broker the parent started. Started by platform-process.ts
 * with `node --expose-gc --import tsx`; it speaks one JSON object per line on stdout (see ChildMessage) and
 * takes one command per line on stdin (see ChildCommand). It stops when told, on SIGTERM, or when stdin ends
 * (the parent is gone).
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { parseConfig } from '../../lib/config.js';
import { silentLogger } from '../../lib/log.js';
import type { RunningServer } from '../../lib/server/subgraph-server.js';
import { gatewayConfigSchema } from '../../gateway/src/config.js';
import { type RunningGateway, start as startGateway } from '../../gateway/src/server.js';
import { SUBGRAPH_MODULES } from '../../scripts/subgraphs.js';
import { type ChildCommand, type ChildMessage, databaseNameOf, GATEWAY_DATABASE } from './platform-protocol.js';
import { BENCH_GATEWAY_LIMITS } from './gateway-limits.js';

/** The poller of the price subgraph must not add ticks of its own to the ones the benchmark publishes. */
const PRICE_POLL_INTERVAL_MS = 3_600_000;
const PRICE_BACKFILL_DAYS = 1;

const childSettingsSchema = z.object({
  KAFKA_BROKERS: z.string().min(1),
  KAFKA_TOPIC_PREFIX: z.string().min(1),
  JWT_SECRET: z.string().min(32),
  GATEWAY_SECRET: z.string().min(32),
  /** Any database on the server; each service's own database replaces the path. */
  BENCH_POSTGRES_URL: z.url(),
  /** The blockchain subgraph's chain and contracts. */
  ETH_RPC_URL: z.url(),
  CONTRACT_ADDRESSES: z.string().min(1),
});

const settings = parseConfig(childSettingsSchema, process.env);
const running: RunningServer[] = [];
let gateway: RunningGateway | undefined;
let stopping: Promise<void> | undefined;

const send = (message: ChildMessage) => process.stdout.write(`${JSON.stringify(message)}\n`);

function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const service of [...running].reverse()) await service.stop().catch(() => {});
    send({ kind: 'stopped' });
  })().finally(() => process.exit(0));
  return stopping;
}

async function startAll(): Promise<void> {
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: settings.JWT_SECRET,
    // One user signs in before the first crowd connects; its token must outlive the whole run.
    JWT_TTL_SECONDS: String(24 * 3600),
    GATEWAY_SECRET: settings.GATEWAY_SECRET,
    KAFKA_BROKERS: settings.KAFKA_BROKERS,
    KAFKA_TOPIC_PREFIX: settings.KAFKA_TOPIC_PREFIX,
    PRICE_POLL_INTERVAL_MS: String(PRICE_POLL_INTERVAL_MS),
    PRICE_BACKFILL_DAYS: String(PRICE_BACKFILL_DAYS),
    ETH_RPC_URL: settings.ETH_RPC_URL,
    CONTRACT_ADDRESSES: settings.CONTRACT_ADDRESSES,
  };
  // Later subgraphs learn where earlier ones listen (`<NAME>_SERVICE_URL`), as in bench/ledger/platform.ts.
  const serviceUrls: Record<string, string> = {};
  const subgraphUrls: Record<string, string> = {};
  for (const [name, load] of Object.entries(SUBGRAPH_MODULES)) {
    const subgraph = await load();
    const databaseUrl = new URL(settings.BENCH_POSTGRES_URL);
    databaseUrl.pathname = `/${databaseNameOf(name)}`;
    const started = await subgraph.startFromEnv({ ...env, ...serviceUrls, PORT: '0', DATABASE_URL: databaseUrl.toString() }, { log: silentLogger });
    running.push(started);
    const upperName = subgraph.SERVICE.toUpperCase();
    serviceUrls[`${upperName}_SERVICE_URL`] = new URL(started.url).origin;
    subgraphUrls[`${upperName}_SUBGRAPH_URL`] = started.url;
  }
  const gatewayDatabaseUrl = new URL(settings.BENCH_POSTGRES_URL);
  gatewayDatabaseUrl.pathname = `/${GATEWAY_DATABASE}`;
  gateway = await startGateway(
    parseConfig(gatewayConfigSchema, { ...env, ...BENCH_GATEWAY_LIMITS, PORT: '0', METRICS_PORT: '0', ...subgraphUrls, DATABASE_URL: gatewayDatabaseUrl.toString() }),
    { log: silentLogger },
  );
  running.push(gateway);
  send({ kind: 'ready', gatewayUrl: gateway.url, metricsUrl: gateway.metricsUrl, pid: process.pid, subgraphs: Object.keys(SUBGRAPH_MODULES) });
}

function answer(command: ChildCommand): void {
  if (command === 'stop') {
    void stopAll();
    return;
  }
  if (command === 'gc') {
    const collect = globalThis.gc;
    if (!collect) throw new Error('garbage collection is not exposed: start this process with --expose-gc');
    // Twice: the first pass may leave garbage that only finalizers of the first made unreachable.
    collect();
    collect();
    send({ kind: 'gc' });
    return;
  }
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  send({
    kind: 'stats',
    upstreams: gateway?.subscriptionStats().upstreams ?? 0,
    memory: process.memoryUsage(),
    cpuMicros: cpu.user + cpu.system,
    loop: { idleMs: loop.idle, activeMs: loop.active },
  });
}

process.once('SIGTERM', () => void stopAll());
const commands = createInterface({ input: process.stdin });
commands.on('line', (line) => {
  try {
    answer(z.enum(['stats', 'gc', 'stop']).parse(line.trim()));
  } catch (error) {
    send({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
commands.on('close', () => void stopAll());

try {
  await startAll();
} catch (error) {
  send({ kind: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  await stopAll();
}
