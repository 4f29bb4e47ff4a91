import { performance } from 'node:perf_hooks';
import { getIntrospectionQuery, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { aliasFlood, deepNesting, directivesFlood, fragmentBomb, repeatedFields, shapeOfSize, tokenFlood } from '../../bench/validation/shapes.js';
import { parseConfig } from '../../lib/config.js';
import { gatewayConfigSchema } from '../src/config.js';
import { operationCost } from '../src/operation-cost.js';
import { checkOperation, type OperationLimits, operationLimitsOf } from '../src/operation-limits.js';
import { SubscriptionPlanner } from '../src/subscriptions/planner.js';
import { readSupergraph } from '../src/supergraph.js';

const schema = new SubscriptionPlanner(readSupergraph()).apiSchema;
const defaults = operationLimitsOf(parseConfig(gatewayConfigSchema, {}));
/** Generous for a check that takes milliseconds; an exponential walk of these documents would not end at all. */
const BOUND_MS = 2_000;

function refusal(source: string, limits: OperationLimits = defaults, variables: Record<string, unknown> = {}) {
  const startedMs = performance.now();
  const checked = checkOperation(schema, source, undefined, variables, limits);
  const elapsedMs = performance.now() - startedMs;
  expect(elapsedMs).toBeLessThan(BOUND_MS);
  return checked.errors?.map((error) => ({ code: error.extensions.code, message: error.message }));
}

describe('operation limits', () => {
  it('have the documented defaults', () => {
    expect(defaults).toEqual({ depthMax: 10, aliasesMax: 15, tokensMax: 1_000, directivesMax: 50, costMax: 50_000, hideSuggestions: false });
  });

  it('refuse the 30-fragment bomb on its depth', () => {
    expect(refusal(fragmentBomb(30))).toEqual([{ code: 'GRAPHQL_VALIDATION_FAILED', message: expect.stringMatching(/^Query depth limit of 10 exceeded/) }]);
  });

  it('refuse floods at parse, on the token limit', () => {
    for (const source of [aliasFlood(1_000), repeatedFields(20_000), tokenFlood(100_000), directivesFlood(2_000)]) {
      expect(refusal(source)).toEqual([{ code: 'GRAPHQL_PARSE_FAILED', message: 'Syntax Error: Document contains more that 1000 tokens. Parsing aborted.' }]);
    }
  });

  it('accept each limit exactly and refuse one more', () => {
    expect(refusal(aliasFlood(15))).toBeUndefined();
    expect(refusal(aliasFlood(16))).toEqual([{ code: 'GRAPHQL_VALIDATION_FAILED', message: 'Aliases limit of 15 exceeded, found 16.' }]);
    expect(refusal(directivesFlood(50))).toBeUndefined();
    expect(refusal(directivesFlood(51))).toEqual([{ code: 'GRAPHQL_VALIDATION_FAILED', message: 'Directives limit of 50 exceeded, found 51.' }]);
    expect(refusal(deepNesting(10))).toBeUndefined();
    expect(refusal(deepNesting(12))).toEqual([{ code: 'GRAPHQL_VALIDATION_FAILED', message: 'Query depth limit of 10 exceeded, found 12.' }]);
  });

  it('stay linear when the token limit is lifted: every 64 KB shape is checked in bounded time', () => {
    const lifted = { ...defaults, tokensMax: Number.MAX_SAFE_INTEGER };
    for (const shape of ['fragmentBomb', 'aliasFlood', 'repeatedFields', 'directivesFlood'] as const) {
      expect(refusal(shapeOfSize(shape, 64 * 1024).document, lifted)?.[0]?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    }
  });

  it('weigh lists by their size argument: literal, variable or the schema default', () => {
    const cost = (source: string, variables?: Record<string, unknown>) => operationCost(schema, parse(source), undefined, variables);
    // 1 for ledgerSnapshot, then per account: the account and its owner.
    expect(cost(`{ ledgerSnapshot(first: 10) { accounts { owner { id } } } }`)).toBe(1 + 10 * 2);
    expect(cost(`query ($n: Int!) { ledgerSnapshot(first: $n) { accounts { owner { id } } } }`, { n: 500 })).toBe(1 + 500 * 2);
    expect(cost(`query ($n: Int! = 7) { ledgerSnapshot(first: $n) { accounts { owner { id } } } }`)).toBe(1 + 7 * 2);
    expect(cost(`{ ledgerSnapshot { accounts { owner { id } } } }`)).toBe(1 + 1_000 * 2);
    // A connection's edges hold `first` items; a list nothing sizes counts 10.
    expect(cost(`{ me { transactions(first: 5) { edges { node { id } } } } }`)).toBe(1 + 1 + 5 * 2);
    expect(cost(`{ me { wallets { id } } }`)).toBe(1 + 10);
    expect(cost(`{ me { ...Wallets } } fragment Wallets on User { wallets { id } }`)).toBe(1 + 10);
  });

  it('refuse an operation over the cost budget once the variables say how large it is', () => {
    const source = `query ($n: Int!) { ledgerSnapshot(first: $n) { accounts { owner { id } } } }`;
    expect(refusal(source, defaults, { n: 10_000 })).toBeUndefined();
    expect(refusal(source, defaults, { n: 1_000_000 })).toEqual([{ code: 'GRAPHQL_VALIDATION_FAILED', message: expect.stringMatching(/^Operation cost limit of 50000 exceeded, found 2000001/) }]);
  });

  it('cost a fragment bomb of objects in bounded time, at its full size', () => {
    const lines = ['{ me { ...F39 } }', 'fragment F0 on User { wallets { id } }'];
    for (let index = 1; index < 40; index++) lines.push(`fragment F${index} on User { ...F${index - 1} ...F${index - 1} }`);
    const startedMs = performance.now();
    expect(operationCost(schema, parse(lines.join('\n')), undefined)).toBe(1 + 2 ** 39 * 10);
    expect(performance.now() - startedMs).toBeLessThan(BOUND_MS);
  });

  it('let the schema tools introspect', () => {
    const query = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true });
    expect(refusal(query)).toBeUndefined();
  });

  it('leave out suggestions when told to', () => {
    const typo = `{ prise(symbol: MCO2) { value } }`;
    expect(refusal(typo)?.[0]?.message).toBe('Cannot query field "prise" on type "Query". Did you mean "price"?');
    expect(refusal(typo, { ...defaults, hideSuggestions: true })?.[0]?.message).toBe('Cannot query field "prise" on type "Query".');
  });
});
