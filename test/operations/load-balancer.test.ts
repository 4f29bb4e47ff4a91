import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/src/server.js';
import { stopProcess } from '../../scripts/infra/child-process.js';
import { freePort } from '../../scripts/infra/ports.js';
import { postGraphQL, type Stack, startStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

/**
 * docker-compose's load balancer, HAProxy with the committed deploy/haproxy.cfg, in front of two real gateways.
 * Outside compose no DNS knows the service name `gateway`, so the copy the test runs differs in two lines only:
 * the frontend binds a free loopback port, and the backend names the two gateways instead of the `server-template`
 * that compose's DNS fills. Health checks, retries, X-Forwarded-For and time-outs are the committed ones.
 */
const HAPROXY = '/usr/sbin/haproxy';
const COMMITTED_CONFIG = readFileSync(new URL('../../deploy/haproxy.cfg', import.meta.url), 'utf8');
/** Low enough that the test reaches it, above what the tests before it send. */
const ANONYMOUS_LIMIT = 20;
const BALANCED_REQUESTS = 8;
const AFTER_STOP_REQUESTS = 6;

let stack: Stack;
let gateways: RunningGateway[];
let balancer: { url: string; child: ChildProcess; exited: Promise<unknown>; output: string[] };
let configDirectory: string;

function configFor(port: number, servers: readonly RunningGateway[]): string {
  const serverTemplate = /^ {2}server-template .*$/m;
  if (!/^ {2}bind :4000$/m.test(COMMITTED_CONFIG) || !serverTemplate.test(COMMITTED_CONFIG)) {
    throw new Error('deploy/haproxy.cfg no longer has the bind and server-template lines this test replaces');
  }
  return COMMITTED_CONFIG.replace(/^ {2}bind :4000$/m, `  bind 127.0.0.1:${port}`).replace(
    serverTemplate,
    servers.map((gateway, index) => `  server gateway${index + 1} 127.0.0.1:${gateway.port} check`).join('\n'),
  );
}

async function startBalancer(): Promise<typeof balancer> {
  const port = await freePort();
  configDirectory = mkdtempSync(join(tmpdir(), 'ecocoin-haproxy-'));
  const configPath = join(configDirectory, 'haproxy.cfg');
  writeFileSync(configPath, configFor(port, gateways));
  const child = spawn(HAPROXY, ['-db', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`HAProxy exited with ${child.exitCode}: ${output.join('')}`);
      return (await fetch(`${url}/health`)).ok;
    },
    { timeoutMs: 10_000, message: 'HAProxy to pass /health on to a gateway' },
  );
  return { url: `${url}/graphql`, child, exited, output };
}

/** How many `query <operation>` requests one gateway answered, from its own /metrics. */
async function answeredBy(gateway: RunningGateway, operation: string): Promise<number> {
  const metrics = await (await fetch(gateway.metricsUrl)).text();
  const pattern = new RegExp(`^ecocoin_graphql_requests_total\\{[^}]*operation="${operation}"[^}]*\\} (\\d+)$`, 'gm');
  return [...metrics.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
}

beforeAll(async () => {
  stack = await startStack({
    services: ['user'],
    // As in docker-compose.yml: the gateway believes the one hop in front of it.
    gatewayEnv: { TRUSTED_PROXY_HOPS: '1', ANONYMOUS_REQUESTS_PER_ADDRESS_PER_MINUTE: String(ANONYMOUS_LIMIT) },
  });
  gateways = [stack.gateway, await stack.startGateway()];
  balancer = await startBalancer();
}, 60_000);

afterAll(async () => {
  if (balancer) await stopProcess(balancer.child, balancer.exited, 5_000, 'HAProxy');
  await gateways?.[1]?.stop();
  await stack?.stop();
  if (configDirectory) rmSync(configDirectory, { recursive: true, force: true });
});

describe('the load balancer of docker-compose.yml', () => {
  it('spreads requests over both gateways', async () => {
    for (let sent = 0; sent < BALANCED_REQUESTS; sent++) {
      const answer = await postGraphQL(balancer.url, /* GraphQL */ `query Balanced { __typename }`);
      expect(answer.errors).toBeUndefined();
      expect(answer.data).toEqual({ __typename: 'Query' });
    }
    const counts = await Promise.all(gateways.map((gateway) => answeredBy(gateway, 'Balanced')));
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(BALANCED_REQUESTS);
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });

  it('takes a stopped gateway out by its health check and answers through the other', async () => {
    const [remaining, stopping] = gateways as [RunningGateway, RunningGateway];
    await stopping.stop();
    // A request that finds the stopped gateway refusing connections is retried on the other one (retry-on
    // conn-failure, redispatch). One already sent on a kept-alive connection the stopping gateway closes is not:
    // it may have run. So what is awaited is the health check taking the gateway out, then every answer.
    await waitFor(() => balancer.output.join('').includes('gateway/gateway2 is DOWN'), { timeoutMs: 10_000, message: 'HAProxy to mark the stopped gateway DOWN' });
    const before = await answeredBy(remaining, 'AfterStop');
    for (let sent = 0; sent < AFTER_STOP_REQUESTS; sent++) {
      const answer = await postGraphQL(balancer.url, /* GraphQL */ `query AfterStop { __typename }`);
      expect(answer.errors).toBeUndefined();
    }
    expect((await answeredBy(remaining, 'AfterStop')) - before).toBe(AFTER_STOP_REQUESTS);
  });

  it('appends the client it saw to X-Forwarded-For, so a client cannot pick its own address for the rate limit', async () => {
    // Each request claims another address; a gateway that believed the claim would count each one apart.
    const codes: unknown[] = [];
    for (let sent = 0; sent <= ANONYMOUS_LIMIT; sent++) {
      const answer = await postGraphQL(balancer.url, /* GraphQL */ `query Spoofed { __typename }`, {}, { 'x-forwarded-for': `203.0.113.${sent + 1}` });
      codes.push(answer.errors?.[0]?.extensions?.code ?? 'OK');
    }
    expect(codes).toContain('RATE_LIMITED');
    // Straight to a gateway, past the balancer, the same header is believed: that is why no gateway port is published.
    const direct = await postGraphQL(gateways[0]!.url, /* GraphQL */ `query Direct { __typename }`, {}, { 'x-forwarded-for': '198.51.100.7' });
    expect(direct.errors).toBeUndefined();
  });
});
