import { GraphQLScalarType, Kind } from 'graphql';
import { badInput } from './errors.js';

export { AmountScalar } from './money.js';

/** ISO-8601 in UTC on the wire; Date in resolvers. */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An ISO-8601 date and time in UTC, e.g. 2026-11-24T12:00:00.000Z.',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue: parseDateTime,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw badInput('DateTime must be a string');
    return parseDateTime(ast.value);
  },
});

function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw badInput('DateTime must be an ISO-8601 string with a time zone, e.g. 2026-11-24T12:00:00Z');
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw badInput('DateTime is not a real date');
  return date;
}

/** Prices and rates: a plain decimal string with up to 18 decimals. Output only in practice, but strict both ways. */
export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  description: 'A decimal number as a string, e.g. "0.283451": prices and rates, with up to 18 decimals. Never a float.',
  serialize(value) {
    if (typeof value !== 'string' || !/^-?(0|[1-9]\d*)(\.\d{1,18})?$/.test(value)) throw new TypeError('Decimal must be serialised from a decimal string');
    return value;
  },
  parseValue: parseDecimal,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw badInput('Decimal must be a string like "0.25"');
    return parseDecimal(ast.value);
  },
});

function parseDecimal(value: unknown): string {
  if (typeof value !== 'string' || value.length > 60 || !/^-?(0|[1-9]\d*)(\.\d{1,18})?$/.test(value)) throw badInput('Decimal must be a string like "0.25", with at most 18 decimals');
  return value;
}
