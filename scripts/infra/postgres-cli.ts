/**
 * `npm run start:postgres`: the embedded PostgreSQL server of `npm start` on its own, with the five service
 * databases and the gateway's, for running the services one by one (`npm run start:user`, `npm run start:gateway`, …).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SUBGRAPH_NAMES } from '../../lib/subgraphs.js';
import { startEmbeddedPostgres } from './postgres.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const port = Number(process.env.EMBEDDED_POSTGRES_PORT ?? 54320);
const server = await startEmbeddedPostgres({ dataDir: resolve(process.env.DATA_DIR ?? resolve(root, '.data'), 'postgres'), port, persistent: true });
const databases = [...SUBGRAPH_NAMES.map((service) => `${service}_service_db`), 'gateway_db'];
for (const database of databases) await server.createDatabaseIfMissing(database);
process.stdout.write(`PostgreSQL on 127.0.0.1:${port}; databases: ${databases.join(', ')}\nPress Ctrl-C to stop.\n`);
const stop = () => void server.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
