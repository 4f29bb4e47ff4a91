import type { GraphQLFormattedError } from 'graphql';
import { AppError } from './errors.js';

/**
 * SQLSTATEs that say the database went away under the statement, not that the statement was wrong:
 * class 08 (connection exception), 57P01-57P03 (admin_shutdown, crash_shutdown, cannot_connect_now, i.e.
 * pg_terminate_backend, a restart or a server still starting), 53300 (too_many_connections) and 25P03
 * (idle_in_transaction_session_timeout ended the session).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300|25P03)$/;

/** postgres.js's own codes for a connection that closed or never opened, and the socket errors under them. */
const UNAVAILABLE_DRIVER_CODES: ReadonlySet<string> = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** drizzle wraps driver errors (`cause`) and GraphQL wraps resolver errors (`originalError`); a few levels suffice. */
const WRAPPING_DEPTH_MAX = 5;

/** True when `error`, or an error it wraps, means the database could not be reached or dropped the connection. */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth <= WRAPPING_DEPTH_MAX && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_DRIVER_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
    if (current instanceof AggregateError && current.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
    current = (current as { originalError?: unknown }).originalError ?? current.cause;
  }
  return false;
}

/**
 * What a client gets for a request that met a database outage: a real outage (metrics count it as one), worth
 * retrying, never INTERNAL. Money mutations are safe to retry under their idempotency key; what was left
 * PENDING is finished by the recovery loop.
 */
export const databaseUnavailable = () => new AppError('UPSTREAM_UNAVAILABLE', 'The database is unavailable; try again shortly');

/** The GraphQL error a client sees in place of a database outage's driver error, at the same path. */
export function databaseUnavailableFormatted(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const { message, extensions } = databaseUnavailable();
  return { message, locations: formatted.locations, path: formatted.path, extensions: { code: extensions.code } };
}
