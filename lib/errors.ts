import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/** The stable error codes of the API (DESIGN.md). Clients switch on these; never rename one. */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'INSUFFICIENT_FUNDS',
  'IDEMPOTENCY_KEY_REUSED',
  'QUOTE_EXPIRED',
  'RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  /** A transaction on chain reverted or was replaced; what it was for was undone (a withdrawal's CARBON given back). */
  'CHAIN_TRANSACTION_FAILED',
  /** A resumable feed's cursor is older than what is kept: read the current state again, then subscribe without it. */
  'CURSOR_EXPIRED',
  /** A resumable feed lost its connection to the service behind it: subscribe again with the last cursor received. */
  'SUBSCRIPTION_INTERRUPTED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Apollo's own request-level codes, kept as they are because every GraphQL client knows them:
 * a document that does not parse or does not validate against the schema.
 */
export const REQUEST_CODES = ['BAD_REQUEST', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'PERSISTED_QUERY_NOT_FOUND', 'OPERATION_RESOLUTION_FAILURE'] as const;

export type RequestCode = (typeof REQUEST_CODES)[number];

const PUBLIC_CODES: ReadonlySet<string> = new Set<string>([...ERROR_CODES, ...REQUEST_CODES]);

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  INSUFFICIENT_FUNDS: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  QUOTE_EXPIRED: 409,
  RATE_LIMITED: 429,
  UPSTREAM_UNAVAILABLE: 503,
  CHAIN_TRANSACTION_FAILED: 409,
  CURSOR_EXPIRED: 400,
  SUBSCRIPTION_INTERRUPTED: 503,
  INTERNAL: 500,
};

/** An error a user can cause: a code and a message a person can act on. Bugs are plain Errors. */
export class AppError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message, { extensions: { code, ...details } });
    this.code = code;
    this.name = 'AppError';
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code] ?? 500;
  }

  override toJSON() {
    return { code: this.code, message: this.message, ...this.extensions };
  }
}

export const unauthenticated = (message = 'Sign in first: send a valid bearer token') => new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'You may not do this') => new AppError('FORBIDDEN', message);
export const badInput = (message: string, details?: Record<string, unknown>) => new AppError('BAD_USER_INPUT', message, details);
export const notFound = (message: string) => new AppError('NOT_FOUND', message);

export function isPublicCode(code: unknown): code is string {
  return typeof code === 'string' && PUBLIC_CODES.has(code);
}

type FormattedErrorLike = GraphQLFormattedError;

const INTERNAL_MESSAGE = 'Internal server error';
/** Extensions a client may see; everything else (stacktrace, exception, SQL state, serviceName…) stays inside. */
const PUBLIC_EXTENSION_KEYS = new Set(['code', 'field', 'fields', 'retryAfterSeconds', 'currency', 'reason', 'transactionId']);

/**
 * What leaves a service in `errors[]`: a public code with its message, or INTERNAL with a fixed message.
 * Used by every subgraph and again by the gateway, so nothing internal crosses either boundary.
 */
export function toPublicError(formatted: FormattedErrorLike, log: (details: FormattedErrorLike) => void): FormattedErrorLike {
  const code = formatted.extensions?.code;
  const result: FormattedErrorLike = { message: formatted.message, locations: formatted.locations, path: formatted.path };
  if (!isPublicCode(code)) {
    log(formatted);
    return { ...result, message: INTERNAL_MESSAGE, extensions: { code: 'INTERNAL' } };
  }
  const extensions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(formatted.extensions ?? {})) if (PUBLIC_EXTENSION_KEYS.has(key)) extensions[key] = value;
  return { ...result, extensions };
}
