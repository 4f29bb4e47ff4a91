import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, parseConfig } from '../lib/config.js';
import { composeSupergraph } from '../scripts/compose.js';
import { SUBGRAPH_MODULES } from '../scripts/subgraphs.js';
import { subgraphsOf } from '../gateway/src/supergraph.js';
import { gatewayConfigSchema } from '../gateway/src/config.js';

interface ComposeService {
  image?: string;
  build?: unknown;
  restart?: string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, unknown>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] };
  command?: string[];
  entrypoint?: string[];
  expose?: string[];
  deploy?: { replicas?: unknown };
  container_name?: string;
  stop_signal?: string;
  stop_grace_period?: string;
  ulimits?: { nofile?: unknown };
}

// No Docker engine runs here, so the file is checked by reading it as Compose would.
const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const subgraphNames = subgraphsOf(composeSupergraph()).map(({ name }) => name);
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

/** What an operator sets (README): the secrets and the custody mnemonic, nothing else. */
const OPERATOR_ENV: Record<string, string> = {
  JWT_SECRET: 'compose-test-jwt-secret-0123456789abcdef0123',
  GATEWAY_SECRET: 'compose-test-gateway-secret-0123456789abcdef',
  CUSTODY_MNEMONIC: 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
};

/** Compose's variable interpolation: `${NAME}`, `${NAME:-default}`, `${NAME:?error}`, and `$$` for a literal `$`. */
function interpolate(value: unknown, variables: Record<string, string>): string {
  return String(value).replace(/\$\$|\$\{(\w+)(?::([-?])([^}]*))?\}/g, (match, name: string | undefined, kind: string | undefined, rest: string | undefined) => {
    if (match === '$$') return '$';
    const set = variables[name as string];
    if (set) return set;
    if (kind === '?') throw new Error(`${name} must be set: ${rest}`);
    return kind === '-' ? (rest ?? '') : '';
  });
}

/** A service's environment as its process sees it, with only the operator's variables set. */
function environmentOf(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([key, value]) => [key, interpolate(value, OPERATOR_ENV)]));
}

/** Settings inside a container must not point at loopback: that is the container itself, not the other service. */
function loopbackSettings(config: Record<string, unknown>): string[] {
  return Object.entries(config)
    .filter(([key, value]) => /(_URL|Url)$/.test(key) && key !== 'SIWE_URI' && typeof value === 'string')
    .filter(([, value]) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(value as string).hostname))
    .map(([key]) => key);
}

/** The steps that run once and exit: what other services wait on with `service_completed_successfully`. */
const oneShotSteps = [
  ...new Set(
    Object.values(compose.services).flatMap((candidate) =>
      Object.entries(candidate.depends_on ?? {})
        .filter(([, { condition }]) => condition === 'service_completed_successfully')
        .map(([dependency]) => dependency),
    ),
  ),
].sort();
const replicatedServices = [...subgraphNames, 'gateway'];

/** How many replicas a service runs with the operator's variables plus `variables`. */
function replicasOf(name: string, variables: Record<string, string> = {}): number {
  const replicas = service(name).deploy?.replicas;
  if (replicas === undefined) throw new Error(`${name} declares no deploy.replicas`);
  return Number(interpolate(replicas, { ...OPERATOR_ENV, ...variables }));
}

const HAPROXY_CONFIG_PATH = fileURLToPath(new URL('../deploy/haproxy.cfg', import.meta.url));
/** deploy/haproxy.cfg by section (`backend gateway` → its lines, comments and blank lines left out). */
const haproxySections = (() => {
  const sections = new Map<string, string[]>();
  let current: string[] = [];
  for (const raw of readFileSync(HAPROXY_CONFIG_PATH, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    if (/^\S/.test(raw)) sections.set(line, (current = []));
    else current.push(line.replace(/\s+/g, ' '));
  }
  return sections;
})();
function haproxySection(name: string): string[] {
  const found = haproxySections.get(name);
  if (!found) throw new Error(`deploy/haproxy.cfg has no section "${name}"`);
  return found;
}
const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1] ?? Number.NaN);

describe('docker-compose.yml', () => {
  it('publishes only the load balancer, on the port its frontend binds', () => {
    const published = Object.entries(compose.services)
      .filter(([, candidate]) => candidate.ports?.length)
      .map(([name]) => name);
    expect(published).toEqual(['load-balancer']);
    expect(service('load-balancer').ports).toEqual(['4000:4000']);
    expect(haproxySection('frontend public')).toContain('bind :4000');
    // The gateway listens on the compose network only; metrics have a port of their own there.
    expect(service('gateway').expose).toEqual(['4000', '9400']);
    expect(environmentOf('gateway').PORT).toBe('4000');
    expect(environmentOf('gateway').METRICS_PORT).toBe('9400');
  });

  it('restarts every long-running service and never a one-shot step', () => {
    expect(oneShotSteps).toEqual(['contracts', 'kafka-topics', ...subgraphNames.map((name) => `${name}-migrate`)].sort());
    for (const [name, candidate] of Object.entries(compose.services)) {
      expect(candidate.restart, name).toBe(oneShotSteps.includes(name) ? 'no' : 'unless-stopped');
    }
  });

  it.each(replicatedServices)('runs %s as replicas, two by default, as many as its <NAME>_REPLICAS says', (name) => {
    expect(replicasOf(name)).toBe(2);
    expect(replicasOf(name, { [`${name.toUpperCase()}_REPLICAS`]: '3' })).toBe(3);
    // Replicas cannot share a container name or a published host port.
    expect(service(name).container_name).toBeUndefined();
    expect(service(name).ports).toBeUndefined();
    // Each replica is health-checked on its own; compose starts what depends on it once all of them are healthy.
    expect(service(name).healthcheck?.test?.join(' ')).toMatch(name === 'gateway' ? /127\.0\.0\.1:4000\/ready/ : /\/health/);
  });

  it('balances over every gateway replica by its health check and passes the client on in X-Forwarded-For', () => {
    const balancer = service('load-balancer');
    expect(balancer.image).toMatch(/^haproxy:\d+\.\d+$/);
    expect(balancer.volumes).toEqual(['./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro']);
    expect(balancer.depends_on?.gateway?.condition).toBe('service_healthy');
    const backend = haproxySection('backend gateway');
    expect(haproxySection('frontend public')).toContain('default_backend gateway');
    // The compose service name, which compose's DNS answers with every replica, on the gateway's port.
    const template = backend.find((line) => line.startsWith('server-template '));
    expect(template).toMatch(/^server-template gateway 1-(\d+) gateway:4000 check resolvers docker /);
    const slots = Number(/ 1-(\d+) /.exec(template as string)?.[1]);
    expect(slots).toBeGreaterThanOrEqual(replicasOf('gateway'));
    expect(service('gateway').deploy?.replicas).toBe('${GATEWAY_REPLICAS:-2}');
    expect(haproxySection('resolvers docker')).toContain('parse-resolv-conf');
    // /health turns 503 as soon as a gateway starts to drain (gateway/src/server.ts).
    expect(backend).toEqual(expect.arrayContaining(['option httpchk', 'http-check send meth GET uri /health', 'http-check expect status 200']));
    expect(haproxySection('frontend public')).toContain('option forwardfor');
    expect(parseConfig(gatewayConfigSchema, environmentOf('gateway')).TRUSTED_PROXY_HOPS).toBe(1);
  });

  it('retries on another gateway only a request that never reached one', () => {
    // A request a gateway received may have run; a mutation must not run twice.
    expect(haproxySection('defaults')).toEqual(expect.arrayContaining(['retry-on conn-failure', 'option redispatch 1']));
    expect(haproxySection('defaults').filter((line) => line.startsWith('retry-on '))).toEqual(['retry-on conn-failure']);
  });

  it('gives the load balancer the file descriptors its maxconn needs', () => {
    const maxconn = Number(haproxySection('global').find((line) => line.startsWith('maxconn '))?.split(' ')[1]);
    expect(maxconn).toBeGreaterThan(0);
    // HAProxy wants two per connection and a few of its own, and refuses to start without them.
    expect(Number(service('load-balancer').ulimits?.nofile)).toBeGreaterThanOrEqual(2 * maxconn + 100);
  });

  it('stops the load balancer softly, within its grace period', () => {
    const balancer = service('load-balancer');
    expect(balancer.stop_signal).toBe('SIGUSR1');
    const hardStopAfter = haproxySection('global').find((line) => line.startsWith('hard-stop-after '));
    expect(seconds((hardStopAfter ?? '').split(' ')[1] ?? '')).toBeLessThan(seconds(balancer.stop_grace_period ?? ''));
  });

  it('has a load balancer configuration HAProxy accepts', () => {
    // Only the address check fails outside compose, where no DNS knows `gateway`; the servers start down until it does.
    const check = spawnSync('/usr/sbin/haproxy', ['-c', '-f', HAPROXY_CONFIG_PATH], { encoding: 'utf8', timeout: 10_000 });
    expect(check.error).toBeUndefined();
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const warnings = (check.stdout + check.stderr).split('\n').filter((line) => line.includes('[WARNING]'));
    expect(warnings.filter((line) => !line.includes("could not resolve address 'gateway'"))).toEqual([]);
  });

  it('runs every subgraph of the supergraph', () => {
    expect(new Set(Object.keys(SUBGRAPH_MODULES))).toEqual(new Set(subgraphNames));
    for (const name of subgraphNames) expect(compose.services[name], name).toBeDefined();
  });

  it.each(subgraphNames)('gives %s its own PostgreSQL on a named volume, with a pg_isready health check', (name) => {
    const database = service(`${name}-db`);
    expect(database.image).toMatch(/^postgres:\d+/);
    expect(database.environment?.POSTGRES_DB).toBe(`${name}_service_db`);
    const dataVolume = database.volumes?.find((volume) => volume.endsWith(':/var/lib/postgresql/data'));
    expect(dataVolume, `${name}-db data volume`).toBeDefined();
    const volumeName = (dataVolume as string).split(':')[0] as string;
    expect(volumeName).not.toMatch(/^[./~]/);
    expect(Object.keys(compose.volumes)).toContain(volumeName);
    expect(database.healthcheck?.test?.join(' ')).toContain('pg_isready');
    expect(environmentOf(name).DATABASE_URL).toBe(`postgres://ecocoin:ecocoin@${name}-db:5432/${name}_service_db`);
    // No two subgraphs share a database server or a volume.
    const others = subgraphNames.filter((other) => other !== name).map((other) => environmentOf(other).DATABASE_URL);
    expect(others.some((url) => url?.includes(`@${name}-db:`))).toBe(false);
  });

  it.each(subgraphNames)('migrates %s in a one-shot step from the same image before it starts', (name) => {
    const migrate = service(`${name}-migrate`);
    expect(migrate.build).toEqual(service(name).build);
    expect(migrate.restart).toBe('no');
    expect(migrate.command).toEqual(['node', '--import', 'tsx', 'scripts/migrate.ts', name]);
    expect(interpolate(migrate.environment?.DATABASE_URL, OPERATOR_ENV)).toBe(environmentOf(name).DATABASE_URL);
    expect(migrate.depends_on?.[`${name}-db`]?.condition).toBe('service_healthy');
  });

  it.each(subgraphNames)('starts %s after its database is healthy, its migrations ran and its topics exist', (name) => {
    const dependsOn = service(name).depends_on ?? {};
    expect(dependsOn[`${name}-db`]?.condition).toBe('service_healthy');
    expect(dependsOn[`${name}-migrate`]?.condition).toBe('service_completed_successfully');
    expect(dependsOn['kafka-topics']?.condition).toBe('service_completed_successfully');
    expect(service(name).healthcheck?.test?.join(' ')).toContain(`/health`);
    for (const [dependency, { condition }] of Object.entries(dependsOn)) {
      expect(compose.services[dependency], `${name} depends on ${dependency}`).toBeDefined();
      expect(['service_healthy', 'service_completed_successfully']).toContain(condition);
    }
  });

  it.each(subgraphNames)('gives %s every setting its config loader requires in production, none pointing at loopback', async (name) => {
    const module = (await SUBGRAPH_MODULES[name]!()) as unknown as { configSchema: Parameters<typeof parseConfig>[0] };
    const env = environmentOf(name);
    expect(env.NODE_ENV).toBe('production');
    expect(env.KAFKA_BROKERS).toBe('kafka:9092');
    if (name === 'blockchain') {
      // CONTRACT_ADDRESSES comes from the contracts step's file, read by the command when the variable is not set.
      expect(interpolate(service(name).command?.join(' '), OPERATOR_ENV)).toContain('CONTRACT_ADDRESSES="${CONTRACT_ADDRESSES:-$(cat /var/lib/ecocoin/contracts.json)}" exec node');
      expect(service(name).volumes).toContain('contracts:/var/lib/ecocoin:ro');
      expect(service('contracts').volumes).toContain('contracts:/var/lib/ecocoin');
      expect(service('contracts').command?.join(' ')).toContain('/var/lib/ecocoin/contracts.json');
      env.CONTRACT_ADDRESSES = JSON.stringify({
        token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
        account: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
        payment: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
        staking: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
      });
    }
    const config = parseConfig(module.configSchema, env) as Record<string, unknown>;
    expect(loopbackSettings(config)).toEqual([]);
    // The secrets are what make it production: without them the loader refuses to start.
    expect(() => parseConfig(module.configSchema, { ...env, JWT_SECRET: '' })).toThrow(ConfigError);
  });

  it('gives the gateway its settings and every subgraph URL, and starts it after they are healthy', () => {
    const env = environmentOf('gateway');
    const config = parseConfig(gatewayConfigSchema, env);
    for (const name of subgraphNames) {
      expect(config.subgraphUrls[name as keyof typeof config.subgraphUrls]).toBe(`http://${name}:${environmentOf(name).PORT}/graphql`);
      expect(service('gateway').depends_on?.[name]?.condition).toBe('service_healthy');
    }
  });

  it('gives the gateway its own PostgreSQL for the rate limits every replica shares', () => {
    const database = service('gateway-db');
    expect(database.image).toMatch(/^postgres:\d+/);
    expect(database.environment?.POSTGRES_DB).toBe('gateway_db');
    expect(database.volumes).toContain('gateway-db:/var/lib/postgresql/data');
    expect(Object.keys(compose.volumes)).toContain('gateway-db');
    const config = parseConfig(gatewayConfigSchema, environmentOf('gateway'));
    expect(config.DATABASE_URL).toBe('postgres://ecocoin:ecocoin@gateway-db:5432/gateway_db');
    expect(loopbackSettings(config)).toEqual([]);
    expect(service('gateway').depends_on?.['gateway-db']?.condition).toBe('service_healthy');
  });

  it('runs anvil with a health check and deploys the contracts before the blockchain subgraph starts', () => {
    const anvil = service('anvil');
    expect(anvil.image).toMatch(/^ghcr\.io\/foundry-rs\/foundry:/);
    expect([...(anvil.entrypoint ?? []), ...(anvil.command ?? [])].join(' ')).toMatch(/^anvil .*--host 0\.0\.0\.0/);
    expect(anvil.healthcheck?.test).toBeDefined();
    expect(anvil.volumes?.some((volume) => volume.startsWith('anvil:'))).toBe(true);
    expect(service('contracts').depends_on?.anvil?.condition).toBe('service_healthy');
    expect(environmentOf('blockchain').ETH_RPC_URL).toBe('http://anvil:8545');
    expect(service('blockchain').depends_on?.anvil?.condition).toBe('service_healthy');
    expect(service('blockchain').depends_on?.contracts?.condition).toBe('service_completed_successfully');
  });

  it('refuses to start without the operator secrets', () => {
    for (const variable of Object.keys(OPERATOR_ENV)) {
      const without = { ...OPERATOR_ENV, [variable]: '' };
      const environments = Object.keys(compose.services).map((name) => Object.values(service(name).environment ?? {}));
      expect(() => environments.flat().forEach((value) => interpolate(value, without)), variable).toThrow(`${variable} must be set`);
    }
  });
});
