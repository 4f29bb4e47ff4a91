/**
 * The load generator, in a process of its own so that it neither shares a CPU thread with what it measures nor
 * hides its own cost: started by load-generator.ts (`fork` with tsx), it runs one cell per `run` message and
 * answers with its result. Each connection is a closed loop over one kept-alive socket: send, read the whole
 * answer, check it, send the next. It exits when the parent disconnects.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from '../ledger/closed-loop.js';
import type { CellResult, CellSpec, LoadMessage, ParentMessage } from './load-protocol.js';
import { queryNamed } from './queries.js';

/** Longer than any answer the services give while healthy; a request past it counts as a failure. */
const REQUEST_TIMEOUT_MS = 30_000;
/** A million samples (8 MB) is far more than a cell of two minutes gives at this machine's rates. */
const LATENCY_SAMPLES_MAX = 1_000_000;

const send = (message: LoadMessage) => process.send?.(message);

interface Answer {
  status: number;
  body: string;
}

function post(agent: Agent, url: URL, body: Buffer, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', agent, timeout: REQUEST_TIMEOUT_MS, headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** Undefined for a good answer; else what was wrong, as a short kind (counted) and a detail (the first one shown). */
function judge(cell: CellSpec, answer: Answer): { kind: string; detail: string } | undefined {
  const query = queryNamed(cell.query);
  if (answer.status !== 200) return { kind: `HTTP ${answer.status}`, detail: answer.body.slice(0, 300) };
  let parsed: { data?: unknown; errors?: { message?: string; extensions?: { code?: unknown } }[] };
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    return { kind: 'not JSON', detail: answer.body.slice(0, 300) };
  }
  if (parsed.errors !== undefined) {
    const first = parsed.errors[0];
    return { kind: `errors: ${String(first?.extensions?.code ?? 'no code')}`, detail: first?.message ?? JSON.stringify(parsed.errors).slice(0, 300) };
  }
  if (parsed.data === undefined || parsed.data === null) return { kind: 'no data', detail: answer.body.slice(0, 300) };
  const problem = query.problemOf(parsed.data, cell.path);
  return problem === undefined ? undefined : { kind: 'wrong shape', detail: `${problem}: ${answer.body.slice(0, 300)}` };
}

async function runCell(cell: CellSpec): Promise<CellResult> {
  const query = queryNamed(cell.query);
  const document = cell.path === 'gateway' ? query.document : query.direct.document;
  const body = Buffer.from(JSON.stringify({ query: document }));
  const url = new URL(cell.url);
  const agent = new Agent({ keepAlive: true, maxSockets: cell.connections });
  const latenciesMs = new Float64Array(LATENCY_SAMPLES_MAX);
  let latencyCount = 0;
  const failures: CellResult['failures'] = {};
  const startMs = performance.now();
  const windowStartMs = startMs + cell.warmupMs;
  const windowEndMs = windowStartMs + cell.measureMs;

  const connection = async () => {
    while (performance.now() < windowEndMs) {
      const sentMs = performance.now();
      let failure: { kind: string; detail: string } | undefined;
      try {
        failure = judge(cell, await post(agent, url, body, cell.headers));
      } catch (error) {
        failure = { kind: 'no answer', detail: (error as Error).message };
      }
      const answeredMs = performance.now();
      if (answeredMs < windowStartMs || answeredMs > windowEndMs) continue;
      if (failure) {
        const counted = (failures[failure.kind] ??= { count: 0, example: failure.detail });
        counted.count += 1;
      } else if (latencyCount < LATENCY_SAMPLES_MAX) latenciesMs[latencyCount++] = answeredMs - sentMs;
    }
  };

  const connections = Promise.all(Array.from({ length: cell.connections }, connection));
  await sleep(Math.max(0, windowStartMs - performance.now()));
  send({ kind: 'window-start' });
  const cpuAtStart = process.cpuUsage();
  const loopAtStart = performance.eventLoopUtilization();
  await sleep(Math.max(0, windowEndMs - performance.now()));
  send({ kind: 'window-end' });
  const cpu = process.cpuUsage(cpuAtStart);
  const loop = performance.eventLoopUtilization(loopAtStart);
  await connections;
  agent.destroy();

  const sorted = latenciesMs.subarray(0, latencyCount).sort();
  return {
    succeeded: latencyCount,
    perSecond: latencyCount / (cell.measureMs / 1000),
    latencyMs: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) },
    latenciesMs: Array.from(sorted),
    failures,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    eventLoopUtilization: loop.utilization,
  };
}

process.on('message', (message: ParentMessage) => {
  runCell(message.cell).then(
    (result) => send({ kind: 'result', result }),
    (error: unknown) => send({ kind: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group; the parent ends the run after the current cell, and its disconnect ends this.
process.on('SIGINT', () => {});
send({ kind: 'ready' });
