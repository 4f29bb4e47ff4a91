import { Kind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { transactionTypeEnum } from '../src/db/schema.js';
import type { TransactionDeps } from '../src/deps.js';
import { typeDefs } from '../src/server.js';
import { WORKFLOWS } from '../src/workflows/registry.js';

/** Building the resolvers must not touch the dependencies; only running them does. */
const untouchable = new Proxy({} as TransactionDeps, {
  get(_target, property) {
    throw new Error(`building a workflow's mutations used deps.${String(property)}`);
  },
});

const schemaMutations = typeDefs.definitions.flatMap((definition) =>
  (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.OBJECT_TYPE_EXTENSION) && definition.name.value === 'Mutation'
    ? (definition.fields ?? []).map((field) => field.name.value)
    : [],
);

describe('the workflow registry', () => {
  it('serves every mutation of the schema from exactly one workflow', () => {
    const served = WORKFLOWS.flatMap((workflow) => Object.keys(workflow.mutations?.(untouchable) ?? {}));
    expect(schemaMutations.length).toBeGreaterThan(0);
    expect([...served].sort()).toEqual([...schemaMutations].sort());
  });

  it('gives each workflow its own kind of posting, by which recovery finds it again', () => {
    const kinds = WORKFLOWS.map((workflow) => workflow.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
  });

  it('has a workflow for every transaction type, and each starts from a mutation or from events', () => {
    expect(new Set(WORKFLOWS.map((workflow) => workflow.type))).toEqual(new Set(transactionTypeEnum.enumValues));
    for (const workflow of WORKFLOWS) expect(Boolean(workflow.mutations) || Boolean(workflow.consumer), workflow.kind).toBe(true);
  });
});
