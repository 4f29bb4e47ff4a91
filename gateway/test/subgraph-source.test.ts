import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SubgraphSource } from '../src/subgraph-source.js';

const source = new SubgraphSource('price', 'http://127.0.0.1:9/graphql', { timeoutMs: 1_000, deduplicate: true });

/** What RemoteGraphQLDataSource raises for a non-2xx answer: the parsed body under `extensions.response`. */
const answered = (status: number, errors: unknown[]) => new GraphQLError(`${status}: refused`, { extensions: { response: { status, body: { errors } } } });

function thrownBy(error: Error, status?: number): { message: string; extensions?: Record<string, unknown> } {
  try {
    source.didEncounterError(error, {}, status === undefined ? undefined : { status });
  } catch (thrown) {
    return { message: (thrown as Error).message, extensions: (thrown as GraphQLError).extensions };
  }
  throw new Error('didEncounterError returned');
}

describe('a subgraph’s failure as the client sees it', () => {
  it('passes a 400 refusal of the client’s input on with its code and field, and nothing internal', () => {
    const error = answered(400, [{ message: 'memo contains the control character U+0000', extensions: { code: 'BAD_USER_INPUT', field: 'memo', serviceName: 'transaction', stacktrace: ['at x'] } }]);
    expect(thrownBy(error, 400)).toEqual({ message: 'memo contains the control character U+0000', extensions: { code: 'BAD_USER_INPUT', field: 'memo' } });
    const invalid = answered(400, [{ message: 'Unknown argument', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }]);
    expect(thrownBy(invalid, 400).extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
  });

  it('answers UPSTREAM_UNAVAILABLE for no answer, a 5xx, and a refused gateway credential', () => {
    for (const [error, status] of [
      [new Error('connect ECONNREFUSED'), undefined],
      [answered(503, []), 503],
      [answered(500, [{ message: 'Internal server error', extensions: { code: 'INTERNAL' } }]), 500],
      [answered(401, [{ message: 'no credential', extensions: { code: 'UNAUTHENTICATED' } }]), 401],
    ] as const) {
      expect(thrownBy(error, status).extensions, String(status)).toEqual({ code: 'UPSTREAM_UNAVAILABLE' });
    }
  });

  it('treats a 4xx without a client’s code as the gateway’s own bug, not an outage', () => {
    const thrown = thrownBy(answered(400, [{ message: 'odd', extensions: { code: 'SOMETHING_ELSE' } }]), 400);
    expect(thrown.extensions).toBeUndefined();
    expect(thrown.message).toMatch(/price subgraph refused a request with HTTP 400/);
  });
});
