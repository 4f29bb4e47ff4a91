/**
 * Reads a V8 .cpuprofile (node --cpu-prof, or bench/profile-transfer.ts) and says where the time went: self
 * time by function and by module (a package under node_modules, a file of ours, Node's own internals), and
 * total time (self and callees) of our own functions, which names the code path that led to the cost.
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [operations]`: with a count of operations (e.g. transfers
 * completed while profiling), every figure is also given per operation.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

const ROWS_MAX = 30;
/** Samples the engine labels itself: not JavaScript of anyone's. */
const ENGINE_FRAMES = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** `node_modules/<package>` (scoped packages whole), `node:<module>`, or our file relative to the repository. */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return ENGINE_FRAMES.has(functionName) ? functionName : '(native)';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1] as string;
  if (url.startsWith('node:')) return url;
  const ours = /\/(lib|gateway|subgraphs|bench|scripts)\/(.*)$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

const isOurs = (module: string) => /^(lib|gateway|subgraphs)\//.test(module);

export function summarizeProfile(profile: CpuProfile, operations?: number): string {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<number, number>();
  samples.forEach((nodeId, index) => selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + Math.max(0, deltas[index] ?? 0)));

  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  const totalOfOurs = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [nodeId, us] of selfUs) {
    const node = nodes.get(nodeId);
    if (!node) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idleUs += us;
    const module = moduleOf(url, functionName);
    add(byModule, module, us);
    add(byFunction, `${functionName || '(anonymous)'} ${module}${url ? `:${lineNumber + 1}` : ''}`, us);
    // Each of our functions on this sample's stack is charged once, however deep it recurses.
    const charged = new Set<string>();
    for (let id: number | undefined = nodeId; id !== undefined; id = parentOf.get(id)) {
      const frame = nodes.get(id)?.callFrame;
      if (!frame) break;
      const frameModule = moduleOf(frame.url, frame.functionName);
      if (!isOurs(frameModule)) continue;
      const key = `${frame.functionName || '(anonymous)'} ${frameModule}:${frame.lineNumber + 1}`;
      if (!charged.has(key)) {
        charged.add(key);
        add(totalOfOurs, key, us);
      }
    }
  }

  const busyUs = totalUs - idleUs;
  const format = (us: number) => {
    const share = `${((us / busyUs) * 100).toFixed(1).padStart(5)} %`;
    const perOperation = operations ? `  ${(us / 1000 / operations).toFixed(3).padStart(7)} ms/op` : '';
    return `${(us / 1000).toFixed(0).padStart(7)} ms ${share}${perOperation}`;
  };
  const table = (title: string, rows: Map<string, number>) =>
    [
      title,
      ...[...rows]
        .filter(([name]) => name !== '(idle)' && !name.startsWith('(idle) '))
        .sort((a, b) => b[1] - a[1])
        .slice(0, ROWS_MAX)
        .map(([name, us]) => `${format(us)}  ${name}`),
    ].join('\n');

  const header = `profiled ${(totalUs / 1e6).toFixed(1)} s, busy (not idle) ${(busyUs / 1e6).toFixed(1)} s${operations ? `, ${operations} operations: ${(busyUs / 1000 / operations).toFixed(2)} ms busy per operation` : ''}; shares are of busy time`;
  return [header, table('\nself time by module', byModule), table('\nself time by function', byFunction), table('\ntotal time (self and callees) of our functions', totalOfOurs)].join('\n');
}

function add(map: Map<string, number>, key: string, value: number) {
  map.set(key, (map.get(key) ?? 0) + value);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, operations] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile> [operations]\n');
    process.exit(2);
  }
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${summarizeProfile(profile, operations ? Number(operations) : undefined)}\n`);
}
