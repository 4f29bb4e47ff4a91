/**
 * The load generator process (see load-generator.ts): runs one closed-loop cell per command from its parent, reads
 * the cell's processes' CPU time as the window opens and closes, and answers with both. It holds no services, so
 * its own CPU time is the clients' alone. Exits when the parent closes the channel or goes away.
 */
import { performance } from 'node:perf_hooks';
import { runClosedLoop } from './closed-loop.js';
import type { CellSpec, GeneratorCommand, GeneratorMessage } from './load-generator.js';
import { cpuBetween, type CpuReading, ProcessCpu } from './process-cpu.js';
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

async function runCell(cpu: ProcessCpu, cell: CellSpec): Promise<void> {
  try {
    const path = pathFor(cell.path);
    const readings: Partial<Record<'start' | 'end', { cpu: CpuReading; atMs: number }>> = {};
    const result = await runClosedLoop({
      clients: cell.clients,
      warmupMs: cell.warmupMs,
      measureMs: cell.measureMs,
      successOutcome: 'COMPLETED',
      request: () => sendTransfer(path, ...pickPair(cell.pattern, cell.users)),
      onWindowEdge: (edge) => {
        readings[edge] = { cpu: cpu.read(cell.cpuParts), atMs: performance.now() };
        send({ kind: 'window', edge });
      },
    });
    const { start, end } = readings;
    if (!start || !end) throw new Error('the closed loop did not report both ends of its window');
    send({ kind: 'result', outcome: { result, cpuMs: cpuBetween(start.cpu, end.cpu), cpuSeconds: (end.atMs - start.atMs) / 1000 } });
  } catch (error) {
    send({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  }
}

if (!process.send) throw new Error('load-generator-child.ts runs as a child process with an IPC channel (see load-generator.ts)');
const cpu = await ProcessCpu.open();
process.on('message', (command: GeneratorCommand) => {
  if (command.kind === 'cell') void runCell(cpu, command.cell);
});
process.once('disconnect', () => process.exit(0));
send({ kind: 'ready' });
