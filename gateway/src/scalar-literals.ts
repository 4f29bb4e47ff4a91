import { type ASTNode, getNullableType, GraphQLError, type GraphQLScalarType, isScalarType, type ValidationContext, type ValidationRule, type ValueNode } from 'graphql';
import { inputFieldOf } from '../../lib/server/text-input.js';

/**
 * Checks every value written inline in the document against the API's own scalars (Amount, DateTime, Decimal)
 * before anything is planned. The gateway's API schema is built from the supergraph's SDL, where these scalars
 * accept any literal; only the subgraphs know how to parse them. Without this a bad literal (`amount: "1e3"`,
 * `from: "yesterday"`) reached a subgraph, whose refusal read as an outage. Refused here it is the client's:
 * GRAPHQL_VALIDATION_FAILED, HTTP 400, with the argument or input field named in `field`. Variables are
 * coerced by the subgraph's scalar and come back as BAD_USER_INPUT.
 */
export function scalarLiteralsRule(scalars: readonly GraphQLScalarType[]): ValidationRule {
  const byName = new Map(scalars.map((scalar) => [scalar.name, scalar]));
  return (context: ValidationContext) => {
    function check(node: ValueNode, _key: unknown, parent: unknown, _path: unknown, ancestors: readonly (ASTNode | readonly ASTNode[])[]) {
      const type = context.getInputType();
      const expected = type ? getNullableType(type) : undefined;
      const scalar = isScalarType(expected) ? byName.get(expected.name) : undefined;
      if (!scalar) return undefined;
      try {
        scalar.parseLiteral(node, undefined);
      } catch (error) {
        const field = inputFieldOf([...ancestors, parent as ASTNode | undefined]);
        const reason = error instanceof Error ? error.message : String(error);
        context.reportError(new GraphQLError(`${field}: ${reason}`, { nodes: [node], extensions: { code: 'BAD_USER_INPUT', field } }));
      }
      // A list or object where a scalar belongs is refused whole, not item by item.
      return false;
    }
    return { StringValue: check, IntValue: check, FloatValue: check, BooleanValue: check, EnumValue: check, ListValue: check, ObjectValue: check };
  };
}
