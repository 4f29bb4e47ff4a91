import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Frontend, HAPROXY_PATH, writeHaproxyConfig } from '../haproxy.js';
import { serverStates } from '../index.js';

const FRONTENDS: Frontend[] = [
  { name: 'user', port: 14101, healthPath: '/health', serverPorts: [14200, 14201] },
  { name: 'gateway', port: 14100, healthPath: '/health', serverPorts: [14250, 14251] },
];

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'ecocoin-haproxy-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe("the cluster's HAProxy configuration", () => {
  it('is accepted by HAProxy, with a health-checked backend per service and WebSockets kept open', async () => {
    const path = join(workDir, 'haproxy.cfg');
    await writeHaproxyConfig(HAPROXY_PATH, path, FRONTENDS, 14199);
    const config = await readFile(path, 'utf8');
    expect(config).toContain('timeout tunnel 1h');
    expect(config).toContain('option forwardfor');
    expect(config).toContain('frontend gateway\n  bind 127.0.0.1:14100\n  default_backend gateway');
    expect(config).toContain('option httpchk GET /health');
    expect(config).toContain('timeout check 5s');
    expect(config).toContain('server user-1 127.0.0.1:14201 check');
  });

  it('reads which servers are up from the statistics, leaving out frontends and backends', () => {
    const csv = ['# pxname,svname,qcur,status', 'stats,FRONTEND,,OPEN', 'user,FRONTEND,,OPEN', 'user,user-0,0,UP', 'user,user-1,0,DOWN', 'user,BACKEND,0,UP'].join('\n');
    expect(serverStates(csv)).toEqual([
      { name: 'user/user-0', status: 'UP' },
      { name: 'user/user-1', status: 'DOWN' },
    ]);
  });

  it('refuses a configuration HAProxy cannot use, with its own words', async () => {
    const clash = [FRONTENDS[0]!, { ...FRONTENDS[1]!, name: 'user' }];
    await expect(writeHaproxyConfig(HAPROXY_PATH, join(workDir, 'clash.cfg'), clash, 14199)).rejects.toThrow(/HAProxy refused its configuration .*clash\.cfg/);
  });
});
