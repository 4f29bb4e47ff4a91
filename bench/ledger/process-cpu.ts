import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

/**
 * One process whose CPU time a cell is charged with, and what of it counts. `process`: its own threads. `tree`:
 * those, its children still running and the children it has already waited for (PostgreSQL, whose backends are
 * the postmaster's children and come and go with the connections). `ended children`: only the children it has
 * waited for (pgbench, a child of this process that ends with its run).
 */
export interface CpuPart {
  /** What the report calls it: `gateway`, `transaction`, `postgres`, `load generator`, … */
  name: string;
  pid: number;
  scope: 'process' | 'tree' | 'ended children';
}

/** CPU milliseconds per part, as consumed since the process started. */
export type CpuReading = Map<string, number>;

/**
 * Reads utime+stime from /proc/<pid>/stat for each part, the clock the kernel counts them in (CLK_TCK) asked of
 * getconf once. /proc and not a package (pidusage) because a cell needs two readings of a few processes and their
 * children, which is a dozen lines, and pidusage reports percentages over its own intervals rather than totals.
 */
export class ProcessCpu {
  readonly #msPerTick: number;

  private constructor(ticksPerSecond: number) {
    this.#msPerTick = 1000 / ticksPerSecond;
  }

  static async open(): Promise<ProcessCpu> {
    try {
      readFileSync('/proc/self/stat', 'utf8');
    } catch {
      throw new Error('the ledger benchmark reads CPU time from /proc/<pid>/stat, which this system has not got (it needs Linux)');
    }
    const { stdout } = await promisify(execFile)('getconf', ['CLK_TCK']);
    const ticksPerSecond = Number(stdout.trim());
    if (!Number.isInteger(ticksPerSecond) || ticksPerSecond <= 0) throw new Error(`getconf CLK_TCK printed ${JSON.stringify(stdout)}, not a tick rate`);
    return new ProcessCpu(ticksPerSecond);
  }

  /**
   * The CPU time of every part so far, each as its scope says. Synchronous, so that a reading is taken at the
   * moment it is asked for, not whenever a busy event loop gets to the file reads.
   */
  read(parts: readonly CpuPart[]): CpuReading {
    const needChildren = parts.some((part) => part.scope === 'tree');
    const everyProcess = needChildren ? readAllStats() : new Map<number, ProcStat>();
    const reading: CpuReading = new Map();
    for (const part of parts) {
      const own = everyProcess.get(part.pid) ?? readStat(part.pid);
      if (!own) throw new Error(`${part.name} (pid ${part.pid}) is not running`);
      const ended = own.cutime + own.cstime;
      let ticks = part.scope === 'ended children' ? ended : own.utime + own.stime;
      if (part.scope === 'tree') {
        ticks += ended;
        for (const child of everyProcess.values()) if (child.ppid === part.pid) ticks += child.utime + child.stime + child.cutime + child.cstime;
      }
      reading.set(part.name, ticks * this.#msPerTick);
    }
    return reading;
  }
}

/** Per part, the CPU milliseconds between two readings. */
export function cpuBetween(start: CpuReading, end: CpuReading): Record<string, number> {
  return Object.fromEntries([...end].map(([name, ms]) => [name, ms - (start.get(name) ?? Number.NaN)]));
}

interface ProcStat {
  ppid: number;
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

/** Undefined when the process is gone. */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return parseStat(text);
}

/**
 * `pid (comm) state ppid … utime stime cutime cstime …` (proc(5)); the command name may hold spaces and
 * parentheses, so the fields are counted from its last `)`.
 */
export function parseStat(text: string): ProcStat {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  const field = (n: number) => Number(fields[n - 3]);
  return { ppid: field(4), utime: field(14), stime: field(15), cutime: field(16), cstime: field(17) };
}

function readAllStats(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(Number(entry), stat);
  }
  return stats;
}
