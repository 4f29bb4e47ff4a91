import {
  type DocumentNode,
  type FieldNode,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type SelectionSetNode,
  valueFromAST,
} from 'graphql';

/** Arguments that say how many items a list holds: the paging arguments of schema/supergraph.graphql (`first`), and the usual others. */
const LIST_SIZE_ARGUMENTS = ['first', 'last', 'limit'] as const;
/** Items counted for a list no argument sizes (a user's wallets, price alerts, a price history's candles). */
export const LIST_SIZE_ASSUMED = 10;
/** What one object costs: about one row, entity or subgraph fetch. Scalars cost nothing more than their object. */
const OBJECT_COST = 1;

/**
 * The worst number of objects an operation can make the platform resolve, as in the IBM GraphQL cost
 * specification that Apollo's demand control follows: an object costs 1, a scalar 0, and a list multiplies
 * what it holds by its size. A size argument (`first: 100`, literal, variable or the schema's default) sizes the
 * field's own list, or, for a field that returns one object (a connection, a snapshot), the lists directly in
 * it (`edges`, `accounts`); any other list counts LIST_SIZE_ASSUMED items.
 *
 * graphql-armor's cost-limit rule is not used: it reads only literal `first`/`last` values, so
 * `transactions(first: $n)` and the schema's own defaults (`ledgerSnapshot(first: Int! = 1000)`) would cost 1.
 * This needs the request's variables, so it runs once the operation is known, still before any subgraph call.
 *
 * Each fragment is costed once per size it inherits, and every later spread reuses that figure, so the time is
 * linear in the document even when fragments spread each other many times (the count itself may be enormous:
 * that is the point). Introspection (`__schema`, `__type`) costs nothing: the gateway answers it from memory,
 * and production refuses it outright.
 */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, rawVariables: Record<string, unknown> = {}): number {
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return 0;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables);
  // Variables that do not coerce are refused by the executor; their raw values still say what was asked for.
  const variables = coerced.coerced ?? rawVariables;
  const fragments = new Map(document.definitions.flatMap((definition) => (definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition] as const] : [])));
  const fragmentCosts = new Map<string, number>();

  function selectionsCost(selectionSet: SelectionSetNode, parentType: GraphQLNamedType | undefined, inheritedSize: number | undefined): number {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) cost += fieldCost(selection, parentType, inheritedSize);
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType;
        cost += selectionsCost(selection.selectionSet, type, inheritedSize);
      } else cost += fragmentCost(selection.name.value, inheritedSize);
    }
    return cost;
  }

  function fragmentCost(name: string, inheritedSize: number | undefined): number {
    const key = `${name}/${inheritedSize ?? ''}`;
    const known = fragmentCosts.get(key);
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    // A fragment that spreads itself is refused by validation; while it is being costed, a spread of it counts 0.
    fragmentCosts.set(key, 0);
    const cost = fragment ? selectionsCost(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value), inheritedSize) : 0;
    fragmentCosts.set(key, cost);
    return cost;
  }

  function fieldCost(field: FieldNode, parentType: GraphQLNamedType | undefined, inheritedSize: number | undefined): number {
    if (field.name.value.startsWith('__') || !field.selectionSet) return 0;
    const definition = isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[field.name.value] : undefined;
    // An unknown field is refused by validation; it resolves nothing.
    if (!definition) return 0;
    const ownSize = sizeArgument(field, definition, variables);
    const isList = isListType(getNullableType(definition.type));
    const itemsMax = isList ? (ownSize ?? inheritedSize ?? LIST_SIZE_ASSUMED) : 1;
    return itemsMax * (OBJECT_COST + selectionsCost(field.selectionSet, getNamedType(definition.type), isList ? undefined : ownSize));
  }

  return selectionsCost(operation.selectionSet, rootType, undefined);
}

/** The field's size argument as the request gives it, or as the schema defaults it; undefined when it has none. */
function sizeArgument(field: FieldNode, definition: GraphQLField<unknown, unknown>, variables: Record<string, unknown>): number | undefined {
  for (const name of LIST_SIZE_ARGUMENTS) {
    const argument = definition.args.find((candidate) => candidate.name === name);
    if (!argument) continue;
    const node = field.arguments?.find((candidate) => candidate.name.value === name);
    const value: unknown = node ? valueFromAST(node.value, argument.type, variables) : argument.defaultValue;
    // A size that is not a positive whole number is refused by the subgraph; it counts as no size here.
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  }
  return undefined;
}
