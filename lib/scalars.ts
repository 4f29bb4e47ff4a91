import { GraphQLScalarType, Kind } from 'graphql';
import { badInput } from './errors.js';
import { AmountScalar } from './money.js';

export { AmountScalar };

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

const DATE_TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
/**
 * The years a DateTime may fall in, in UTC. PostgreSQL has no year 0 (its calendar goes from 1 BC to AD 1), so
 * "0000-01-01T00:00:00Z", which JavaScript takes, failed in the driver as INTERNAL; four digits end at 9999.
 */
const DATE_TIME_YEAR_MIN = 1;
const DATE_TIME_YEAR_MAX = 9999;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function parseDateTime(value: unknown): Date {
  const fields = typeof value === 'string' ? DATE_TIME_PATTERN.exec(value) : null;
  if (!fields) throw badInput('DateTime must be an ISO-8601 string with a time zone, e.g. 2026-11-24T12:00:00Z');
  const date = new Date(value as string);
  if (Number.isNaN(date.getTime()) || !isCalendarDate(fields)) throw badInput('DateTime is not a real date');
  if (date.getUTCFullYear() < DATE_TIME_YEAR_MIN || date.getUTCFullYear() > DATE_TIME_YEAR_MAX) {
    throw badInput(`DateTime must fall between the years ${DATE_TIME_YEAR_MIN} and ${DATE_TIME_YEAR_MAX}`);
  }
  return date;
}

/** JavaScript rolls 2026-02-30 over to 2026-03-02 and takes hour 24; a date the client did not mean is refused instead. */
function isCalendarDate(fields: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = fields.slice(1, 7).map((field) => Number(field ?? 0)) as [number, number, number, number, number, number];
  const daysInMonth = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  return day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59;
}

const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

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

/** The API's own scalars: every subgraph parses with them, and the gateway checks inline literals with them. */
export const API_SCALARS = [AmountScalar, DateTimeScalar, DecimalScalar] as const;
