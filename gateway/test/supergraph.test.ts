import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { composeSupergraph, SUPERGRAPH_PATH } from '../../scripts/compose.js';
import { subgraphsOf } from '../src/supergraph.js';

describe('the committed supergraph', () => {
  it('is what rover.yaml’s subgraphs compose to today (run `npm run compose` when this fails)', () => {
    expect(readFileSync(SUPERGRAPH_PATH, 'utf8')).toBe(composeSupergraph());
  });

  it('routes each subgraph where `npm start` serves it', () => {
    expect(subgraphsOf(readFileSync(SUPERGRAPH_PATH, 'utf8'))).toEqual([
      { name: 'blockchain', url: 'http://127.0.0.1:4004/graphql' },
      { name: 'notification', url: 'http://127.0.0.1:4005/graphql' },
      { name: 'price', url: 'http://127.0.0.1:4003/graphql' },
      { name: 'transaction', url: 'http://127.0.0.1:4002/graphql' },
      { name: 'user', url: 'http://127.0.0.1:4001/graphql' },
    ]);
  });

  it('fails composition loudly rather than writing a broken supergraph', () => {
    const broken = composeServices([
      { name: 'a', url: 'http://a', typeDefs: parse('extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"]) type Query { x: Int }') },
      { name: 'b', url: 'http://b', typeDefs: parse('extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"]) type Query { x: String }') },
    ]);
    expect(broken.errors?.length).toBeGreaterThan(0);
  });
});
