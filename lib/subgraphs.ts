/**
 * The subgraphs of the supergraph, in start order, each with the port it listens on by default: the one list the
 * gateway, codegen, `npm start`, migrations, `npm run db:generate` and the check of rover.yaml read. A subgraph not
 * listed here is absent from the supergraph too. Adding one: a line here, its server.ts in scripts/subgraphs.ts,
 * its mappers in scripts/codegen.ts and its entry in rover.yaml (the compiler and test/subgraph-registry.test.ts
 * say which is missing).
 */
export const SUBGRAPHS = [
  { name: 'user', port: 4001 },
  { name: 'price', port: 4003 },
  // Before the transaction subgraph, which sends withdrawals to it.
  { name: 'blockchain', port: 4004 },
  { name: 'transaction', port: 4002 },
  { name: 'notification', port: 4005 },
] as const;

export type SubgraphName = (typeof SUBGRAPHS)[number]['name'];

export const SUBGRAPH_NAMES: readonly SubgraphName[] = SUBGRAPHS.map(({ name }) => name);

/** The port a subgraph listens on unless PORT says otherwise. */
export function defaultPortOf(name: SubgraphName): number {
  const subgraph = SUBGRAPHS.find((candidate) => candidate.name === name);
  if (!subgraph) throw new Error(`${name} is not a subgraph`);
  return subgraph.port;
}

/** Where a subgraph's SDL lives, relative to the repository root. */
export const schemaFileOf = (name: SubgraphName): string => `schema/${name}.graphql`;
