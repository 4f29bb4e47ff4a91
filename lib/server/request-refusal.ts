import { GraphQLError } from 'graphql';
import type { ErrorCode, RequestCode } from '../errors.js';

/** A refusal's HTTP status when it refuses the whole request: always the client's (4xx). */
const REFUSAL_STATUS = 400;

/**
 * An error that refuses the whole request before it runs, answered with HTTP 400. Apollo Server answers an error
 * thrown from a plugin's `didResolveOperation` with 500 unless the error names its status, and a refusal there
 * (a text argument with a NUL byte, a subscription sent over HTTP) is the client's, never the server's.
 */
export function refusedRequest(code: ErrorCode | RequestCode, message: string, details: Record<string, unknown> = {}): GraphQLError {
  // `http` is read and removed by Apollo Server when it formats the error; the client never sees it.
  return new GraphQLError(message, { extensions: { code, ...details, http: { status: REFUSAL_STATUS } } });
}
