/**
 * `npm run migrate -- <service>`: applies a subgraph's committed migrations to its DATABASE_URL over one connection
 * of its own, then exits. docker-compose.yml runs it as each subgraph's one-shot migrate step, so schema changes
 * happen once, before any instance of the service starts. (Services also migrate at start, which is then a no-op;
 * that keeps `npm start` and the tests a single step.)
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { exitOnConfigError, parseConfig } from '../lib/config.js';
import { runMigrations } from '../lib/db.js';
import { SUBGRAPH_MODULES } from './subgraphs.js';

const migrateConfigSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, message: 'must be a postgres:// URL' }),
});

async function main() {
  const service = process.argv[2] ?? '';
  if (!(service in SUBGRAPH_MODULES)) {
    process.stderr.write(`usage: npm run migrate -- <service>, one of: ${Object.keys(SUBGRAPH_MODULES).join(', ')}\n`);
    process.exit(2);
  }
  const config = parseConfig(migrateConfigSchema, process.env);
  // Every subgraph keeps its migrations at the same place (server.ts passes the same folder at start).
  await runMigrations(config.DATABASE_URL, fileURLToPath(new URL(`../subgraphs/${service}/src/db/migrations`, import.meta.url)));
  process.stdout.write(`${service}: migrations applied\n`);
}

main().catch(exitOnConfigError);
