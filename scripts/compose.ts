import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROVER_CONFIG_PATH = resolve(root, 'rover.yaml');
export const SUPERGRAPH_PATH = resolve(root, 'schema/supergraph.graphql');

const roverConfigSchema = z.object({
  federation_version: z.string().regex(/^=2\.\d+\.\d+$/, 'pin an exact federation 2 version, e.g. =2.14.4'),
  subgraphs: z.record(z.string(), z.object({ routing_url: z.url(), schema: z.object({ file: z.string() }) })),
});

/** Composes exactly the subgraphs rover.yaml lists, the way `rover supergraph compose` would. */
export function composeSupergraph(configPath = ROVER_CONFIG_PATH): string {
  const config = roverConfigSchema.parse(parseYaml(readFileSync(configPath, 'utf8')));
  const services = Object.entries(config.subgraphs).map(([name, subgraph]) => ({
    name,
    url: subgraph.routing_url,
    typeDefs: parse(readFileSync(resolve(dirname(configPath), subgraph.schema.file), 'utf8')),
  }));
  const result = composeServices(services);
  if (result.errors) throw new Error(`Composition failed:\n${result.errors.map((error) => `  ${error.message}`).join('\n')}`);
  return `${result.supergraphSdl.trimEnd()}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SUPERGRAPH_PATH, composeSupergraph());
  process.stdout.write(`wrote ${SUPERGRAPH_PATH}\n`);
}
