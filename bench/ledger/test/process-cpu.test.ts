import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../lib/config.js';
import { cpuBetween, parseStat, ProcessCpu } from '../process-cpu.js';
import { ledgerSettingsSchema } from '../settings.js';

describe('process CPU from /proc', () => {
  it('counts the fields after the last parenthesis, so a command name with spaces and parentheses cannot shift them', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
    const line = '4242 (node (load) gen) S 17 4242 4242 0 -1 4194560 900 0 0 0 1234 56 78 9 20 0 11 0 100 0 0\n';
    expect(parseStat(line)).toEqual({ ppid: 17, utime: 1234, stime: 56, cutime: 78, cstime: 9 });
  });

  it('charges a busy process the CPU it spun, and its parent the child once waited for', async () => {
    const cpu = await ProcessCpu.open();
    const self = { name: 'self', pid: process.pid, scope: 'process' as const };
    const ended = { name: 'ended', pid: process.pid, scope: 'ended children' as const };
    const start = cpu.read([self, ended]);
    // Both spin until they have used 200 ms of CPU, not of wall time: on a loaded machine the two differ widely.
    const spinning = process.cpuUsage();
    while (process.cpuUsage(spinning).user < 200_000);
    const child = spawn(process.execPath, ['-e', 'const start = process.cpuUsage(); while (process.cpuUsage(start).user < 200_000);']);
    await once(child, 'exit');
    const used = cpuBetween(start, cpu.read([self, ended]));
    // The kernel counts in clock ticks (10 ms at the usual 100 per second).
    expect(used.self).toBeGreaterThanOrEqual(180);
    expect(used.ended).toBeGreaterThanOrEqual(180);
  });

  it('says which part is gone when its process is not running', async () => {
    const cpu = await ProcessCpu.open();
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    expect(() => cpu.read([{ name: 'gateway', pid: child.pid!, scope: 'process' }])).toThrow(`gateway (pid ${child.pid}) is not running`);
  });
});

describe('ledger settings', () => {
  it('measures both shapes in three rounds unless told otherwise', () => {
    const settings = parseConfig(ledgerSettingsSchema, {});
    expect(settings.shapes).toEqual(['one-process', 'production']);
    expect(settings.rounds).toBe(3);
    expect(parseConfig(ledgerSettingsSchema, { BENCH_SHAPES: 'production', BENCH_ROUNDS: '1' })).toMatchObject({ shapes: ['production'], rounds: 1 });
  });

  it('refuses a shape it does not know and a shape named twice', () => {
    expect(() => parseConfig(ledgerSettingsSchema, { BENCH_SHAPES: 'one-process,docker' })).toThrow(ConfigError);
    expect(() => parseConfig(ledgerSettingsSchema, { BENCH_SHAPES: 'production,production' })).toThrow(/each shape once/);
  });
});
