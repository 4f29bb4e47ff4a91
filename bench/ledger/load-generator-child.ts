/**
 * The load generator process (see load-generator.ts): runs one closed-loop cell per command from its parent and
 * answers with the result. It holds no services, so its CPU time is the clients' alone. Exits when the parent
 * closes the channel or goes away.
 */
import { runClosedLoop } from './closed-loop.js';
import type { CellSpec, GeneratorCommand, GeneratorMessage } from './load-generator.js';
import { directPath, gatewayPath, sendTransfer, type TransferPath } from './transfer-paths.js';
import { pickPair } from './wallet-patterns.js';

const send = (message: GeneratorMessage) => process.send?.(message);

/** One TransferPath per path and URL for the life of the process, so the direct path's credentials are reused across cells. */
const paths = new Map<string, TransferPath>();

function pathFor(spec: CellSpec['path']): TransferPath {
  const key = `${spec.name} ${spec.url}`;
  let path = paths.get(key);
  if (!path) {
    path = spec.name === 'gateway' ? gatewayPath(spec.url) : directPath(spec.url, spec.gatewaySecret);
    paths.set(key, path);
  }
  return path;
}

async function runCell(cell: CellSpec): Promise<void> {
  try {
    const path = pathFor(cell.path);
    const result = await runClosedLoop({
      clients: cell.clients,
      warmupMs: cell.warmupMs,
      measureMs: cell.measureMs,
      successOutcome: 'COMPLETED',
      request: () => sendTransfer(path, ...pickPair(cell.pattern, cell.users)),
      onWindowEdge: (edge) => send({ kind: 'window', edge }),
    });
    send({ kind: 'result', result });
  } catch (error) {
    send({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  }
}

if (!process.send) throw new Error('load-generator-child.ts runs as a child process with an IPC channel (see load-generator.ts)');
process.on('message', (command: GeneratorCommand) => {
  if (command.kind === 'cell') void runCell(command.cell);
});
process.once('disconnect', () => process.exit(0));
send({ kind: 'ready' });
