import type { GraphQLSchema } from 'graphql';

/**
 * The directive that marks a field served without a token (schema/price.graphql defines it and composes it into
 * the supergraph with @composeDirective): what it returns is the same for everyone, like the public queries.
 */
const PUBLIC_DIRECTIVE = 'public';

/** The Subscription fields the supergraph marks @public: open to connections without a token, shared by everyone. */
export function publicSubscriptionFields(supergraphSchema: GraphQLSchema): ReadonlySet<string> {
  const fields = Object.values(supergraphSchema.getSubscriptionType()?.getFields() ?? {});
  return new Set(fields.filter((field) => field.astNode?.directives?.some((directive) => directive.name.value === PUBLIC_DIRECTIVE)).map((field) => field.name));
}
