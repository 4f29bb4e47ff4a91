import { z } from 'zod';
import { badInput } from './errors.js';
import type { InternalRoute } from './server/subgraph-server.js';
import type { Caller } from './auth/internal-credential.js';

/**
 * The contract of one internal HTTP call (`POST /internal/...`): its path, and the schemas of its request and
 * of its answer, in lib/ beside the call's other shared parts. The route parses the request with it (a
 * refusal is BAD_USER_INPUT) and checks its own answer (a bug if not); the client (InternalClient.call)
 * parses the answer (one it cannot read is UPSTREAM_UNAVAILABLE, logged), so neither side casts.
 */
export interface InternalCall<Request extends z.ZodType, Response extends z.ZodType> {
  path: string;
  request: Request;
  response: Response;
}

export const internalCall = <Request extends z.ZodType, Response extends z.ZodType>(path: string, request: Request, response: Response): InternalCall<Request, Response> => ({
  path,
  request,
  response,
});

/** What a caller sends, before the route's defaults apply. */
export type RequestOf<Call> = Call extends InternalCall<infer Request, z.ZodType> ? z.input<Request> : never;
/** What the caller reads back, as parsed. */
export type ResponseOf<Call> = Call extends InternalCall<z.ZodType, infer Response> ? z.output<Response> : never;

/** The key of a route in `internalRoutes`. */
export const routeKey = (call: InternalCall<z.ZodType, z.ZodType>) => `POST ${call.path}`;

/**
 * An internal route that holds to its contract: the handler gets the parsed request, and what it answers
 * (2xx) is checked against the response schema before it leaves; an answer that breaks it is a bug and throws.
 */
export function contractRoute<Request extends z.ZodType, Response extends z.ZodType>(
  call: InternalCall<Request, Response>,
  options: {
    /** Throws (FORBIDDEN) for a caller the route is not for, before the request is read. */
    authorize(caller: Caller): void;
    handle(input: { caller: Caller; body: z.output<Request> }): Promise<{ status: number; body: z.input<Response> }>;
  },
): InternalRoute {
  return async ({ caller, body }) => {
    options.authorize(caller);
    const parsed = call.request.safeParse(body);
    if (!parsed.success) throw badInput(`invalid request to ${call.path}: ${z.prettifyError(parsed.error)}`);
    const answer = await options.handle({ caller, body: parsed.data });
    const checked = call.response.safeParse(answer.body);
    if (!checked.success) throw new Error(`${call.path} answered what its contract refuses: ${z.prettifyError(checked.error)}`);
    return answer;
  };
}
