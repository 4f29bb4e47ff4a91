import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRETS } from '../../../test/support/stack.js';
import { type Restart, SupervisedProcess } from '../supervisor.js';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** Three starts of a Node service that fails at once, with the restart waits between them, on a loaded machine. */
const GIVE_UP_TIMEOUT_MS = 60_000;

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'ecocoin-supervisor-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('a supervised service process', () => {
  it('that refuses its settings is restarted, then given up with the end of its log naming the setting', async () => {
    const logFile = join(workDir, 'notification-0.log');
    const restarts: Restart[] = [];
    const supervised = new SupervisedProcess(
      {
        label: 'notification#0',
        command: process.execPath,
        args: ['--import', 'tsx', 'subgraphs/notification/src/index.ts'],
        env: { PATH: process.env.PATH ?? '', ...TEST_SECRETS, NODE_ENV: 'test', WEBHOOK_ATTEMPTS_MAX: 'many' },
        cwd: repositoryRoot,
        logFile,
        // Never reached: the process exits while reading its settings.
        healthUrl: 'http://127.0.0.1:9/health',
      },
      (restart) => restarts.push(restart),
    );
    await supervised.start();
    try {
      await expect(supervised.whenHealthy(GIVE_UP_TIMEOUT_MS)).rejects.toThrow(/notification#0 exited 3 times in a row while starting[\s\S]*WEBHOOK_ATTEMPTS_MAX: must be a whole number/);
      expect(restarts.length).toBeGreaterThanOrEqual(3);
      expect(restarts.every((restart) => restart.exit === 'code 1')).toBe(true);
      expect(supervised.restarts()).toBe(restarts.length);
    } finally {
      await supervised.stop();
    }
    expect(supervised.pid()).toBeUndefined();
    const log = await readFile(logFile, 'utf8');
    expect(log).toContain('--- ');
    expect(log.match(/starting notification#0/g)?.length).toBeGreaterThanOrEqual(3);
  }, GIVE_UP_TIMEOUT_MS + 10_000);
});
