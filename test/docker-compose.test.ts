import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { composeSupergraph } from '../scripts/compose.js';
import { subgraphsOf } from '../gateway/src/supergraph.js';

// No Docker engine runs here, so the file is checked by reading it as Compose would.
const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, { ports?: string[]; environment?: Record<string, unknown>; depends_on?: Record<string, { condition: string }>; healthcheck?: unknown; command?: string[] }>;
};

describe('docker-compose.yml', () => {
  it('publishes only the gateway', () => {
    const published = Object.entries(compose.services).filter(([, service]) => service.ports?.length).map(([name]) => name);
    expect(published).toEqual(['gateway']);
  });

  it('runs every subgraph of the supergraph with its own database, Kafka and the shared secrets', () => {
    for (const { name } of subgraphsOf(composeSupergraph())) {
      const service = compose.services[name];
      expect(service, name).toBeDefined();
      expect(service!.environment?.DATABASE_URL).toMatch(new RegExp(`@${name}-db:5432/${name}_service_db$`));
      expect(service!.environment?.KAFKA_BROKERS).toBe('kafka:9092');
      expect(service!.depends_on?.[`${name}-db`]?.condition).toBe('service_healthy');
      expect(compose.services[`${name}-db`]?.healthcheck).toBeDefined();
      expect(compose.services.gateway!.environment?.[`${name.toUpperCase()}_SUBGRAPH_URL`]).toBe(`http://${name}:${service!.environment?.PORT}/graphql`);
    }
  });

  it('starts the gateway only after its subgraphs are healthy', () => {
    const conditions = Object.values(compose.services.gateway!.depends_on ?? {}).map((dependency) => dependency.condition);
    expect(conditions.length).toBeGreaterThan(0);
    expect(new Set(conditions)).toEqual(new Set(['service_healthy']));
  });
});
