import { readFileSync } from 'node:fs';
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

describe('docker-compose.yml', () => {
  it('publishes only the gateway', () => {
    const published = Object.entries(compose.services)
      .filter(([, candidate]) => candidate.ports?.length)
      .map(([name]) => name);
    expect(published).toEqual(['gateway']);
    // Metrics have a port of their own, reachable on the compose network only.
    expect(environmentOf('gateway').METRICS_PORT).toBe('9400');
    expect(service('gateway').ports).toEqual(['4000:4000']);
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

  it('gives the gateway its own PostgreSQL for the rate limits every replica shares, and believes no proxy by default', () => {
    const database = service('gateway-db');
    expect(database.image).toMatch(/^postgres:\d+/);
    expect(database.environment?.POSTGRES_DB).toBe('gateway_db');
    expect(database.volumes).toContain('gateway-db:/var/lib/postgresql/data');
    expect(Object.keys(compose.volumes)).toContain('gateway-db');
    const config = parseConfig(gatewayConfigSchema, environmentOf('gateway'));
    expect(config.DATABASE_URL).toBe('postgres://ecocoin:ecocoin@gateway-db:5432/gateway_db');
    expect(loopbackSettings(config)).toEqual([]);
    expect(config.TRUSTED_PROXY_HOPS).toBe(0);
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
