import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SUBGRAPH_NAMES } from '../lib/subgraphs.js';

/** `npm run db:generate`: drizzle-kit generates the migrations of every registered subgraph, then the gateway's. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// drizzle-kit exports no module path for its command line, so it is run from where npm installed it.
const drizzleKit = resolve(root, 'node_modules/drizzle-kit/bin.cjs');
const configs = [...SUBGRAPH_NAMES.map((name) => `subgraphs/${name}/drizzle.config.ts`), 'gateway/drizzle.config.ts'];

for (const config of configs) {
  const run = spawnSync(process.execPath, [drizzleKit, 'generate', '--config', config], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) {
    process.stderr.write(`drizzle-kit generate failed for ${config}\n`);
    process.exit(run.status ?? 1);
  }
}
