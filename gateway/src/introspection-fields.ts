import { GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';

/**
 * Introspection fields graphql 16 knows but @apollo/gateway's own introspection does not: Apollo Server
 * validates them against graphql's schema and lets them through, then the gateway's executor refuses them as
 * INVALID_GRAPHQL, which reached the client as INTERNAL with HTTP 500. They are the client's to drop, so they are
 * refused here with the ordinary validation code.
 */
const UNSUPPORTED_INTROSPECTION_FIELDS: Readonly<Record<string, readonly string[]>> = {
  // The @oneOf input objects of graphql 16.9+; the supergraph has none, so a tool loses nothing by leaving it out.
  __Type: ['isOneOf'],
};

export function unsupportedIntrospectionRule(context: ValidationContext): ReturnType<ValidationRule> {
  return {
    Field(node) {
      const parent = context.getParentType()?.name;
      if (parent && UNSUPPORTED_INTROSPECTION_FIELDS[parent]?.includes(node.name.value)) {
        context.reportError(new GraphQLError(`${parent}.${node.name.value} is not served by this gateway's introspection; leave it out`, { nodes: [node] }));
      }
    },
  };
}
