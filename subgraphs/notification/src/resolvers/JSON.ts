import { GraphQLScalarType, valueFromASTUntyped } from 'graphql';

/** Notification details: a JSON object whose fields depend on the notification's kind. */
export const JSONScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  description: 'Any JSON value: the machine-readable details of a notification, which differ per kind.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});
