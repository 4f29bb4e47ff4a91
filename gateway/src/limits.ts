import { GraphQLError, Kind, type SelectionSetNode, type ValidationContext, type ValidationRule } from 'graphql';

/**
 * Refuses documents nested deeper than `depthMax` before any subgraph is called: a deep query costs every
 * service on its path, and no screen needs one. Fragments are followed; introspection counts like any other field.
 */
export function depthLimitRule(depthMax: number): ValidationRule {
  return (context: ValidationContext) => {
    const fragments = new Map(context.getDocument().definitions.flatMap((definition) => (definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition] as const] : [])));

    function depthOf(selectionSet: SelectionSetNode | undefined, visited: ReadonlySet<string>): number {
      if (!selectionSet) return 0;
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) deepest = Math.max(deepest, selection.selectionSet ? 1 + depthOf(selection.selectionSet, visited) : 1);
        else if (selection.kind === Kind.INLINE_FRAGMENT) deepest = Math.max(deepest, depthOf(selection.selectionSet, visited));
        else if (!visited.has(selection.name.value)) {
          const fragment = fragments.get(selection.name.value);
          deepest = Math.max(deepest, depthOf(fragment?.selectionSet, new Set([...visited, selection.name.value])));
        }
      }
      return deepest;
    }

    return {
      OperationDefinition(operation) {
        const depth = depthOf(operation.selectionSet, new Set());
        if (depth > depthMax) {
          context.reportError(
            new GraphQLError(`Query is nested ${depth} levels deep; at most ${depthMax} are allowed`, { nodes: [operation] }),
          );
        }
      },
    };
  };
}
