/**
 * Hive Gateway (The Guild's) as a process of its own, the way the benchmark runs it beside ours: over the
 * supergraph file it is given (the committed one routed to where the subgraphs listen), with either of its query
 * planners, and subgraph request deduplication on or off. Subgraphs answer only our internal credential, so it
 * sends the one our gateway would send, minted by the same code from the caller's verified bearer token
 * (scripts/infra/hive-gateway.ts). Started by targets.ts; stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createGatewayRuntime, Logger } from '@graphql-hive/gateway';
import { z } from 'zod';
import { parseConfig, port } from '../../lib/config.js';
import { gatewayConfigSchema } from '../../gateway/src/config.js';
import { internalCredentialHeaders } from '../../scripts/infra/hive-gateway.js';

const hiveSettingsSchema = z.object({
  PORT: port(4000),
  SUPERGRAPH_PATH: z.string().min(1),
  /** `js`: Hive's own planner in JavaScript (the default); `rust`: @graphql-hive/router-runtime's. */
  HIVE_QUERY_PLANNER: z.enum(['js', 'rust']),
  /** Identical subgraph fetches in flight at once share one request (`deduplicateInflightRequests`, on by default). */
  HIVE_SUBGRAPH_DEDUPLICATION: z.enum(['on', 'off']),
});

const settings = parseConfig(hiveSettingsSchema, process.env);
// The same token settings our gateway reads, from the same variables.
const config = parseConfig(gatewayConfigSchema, process.env);

const runtime = createGatewayRuntime({
  supergraph: readFileSync(settings.SUPERGRAPH_PATH, 'utf8'),
  logging: new Logger({ level: 'warn' }),
  ...(settings.HIVE_QUERY_PLANNER === 'rust' ? { unifiedGraphHandler: (await import('@graphql-hive/router-runtime')).unifiedGraphHandler } : {}),
  transportEntries: { '*.http': { options: { deduplicateInflightRequests: settings.HIVE_SUBGRAPH_DEDUPLICATION === 'on' } } },
  propagateHeaders: internalCredentialHeaders(config),
});
// The supergraph is loaded on first use; asking for the schema now makes any complaint about it fail the start.
await runtime.getSchema();
const server = createServer(runtime);
server.listen(settings.PORT, '127.0.0.1');

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void Promise.resolve(runtime.dispose()).finally(() => process.exit(0)));
});
