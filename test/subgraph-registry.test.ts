import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SUBGRAPHS, schemaFileOf } from '../lib/subgraphs.js';
import { SUBGRAPH_MODULES } from '../scripts/subgraphs.js';

const rover = parse(readFileSync(new URL('../rover.yaml', import.meta.url), 'utf8')) as {
  subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
};

describe('the subgraph registry (lib/subgraphs.ts)', () => {
  it('agrees with rover.yaml: the same subgraphs, each at its port and with its schema file', () => {
    expect(Object.keys(rover.subgraphs).sort()).toEqual(SUBGRAPHS.map(({ name }) => name).sort());
    for (const { name, port } of SUBGRAPHS) {
      const entry = rover.subgraphs[name];
      expect(entry?.routing_url, name).toBe(`http://127.0.0.1:${port}/graphql`);
      expect(entry?.schema.file, name).toBe(`./${schemaFileOf(name)}`);
    }
  });

  it('starts each subgraph from a server module that names itself and listens on its registered port by default', async () => {
    expect(Object.keys(SUBGRAPH_MODULES)).toEqual(SUBGRAPHS.map(({ name }) => name));
    for (const { name, port } of SUBGRAPHS) {
      const module = await SUBGRAPH_MODULES[name]!();
      expect({ service: module.SERVICE, port: module.DEFAULT_PORT }, name).toEqual({ service: name, port });
    }
  });
});
