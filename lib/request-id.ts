import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** The header a request id travels in: from the client to the gateway, on to subgraphs and internal calls, and back. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** The Kafka message header that carries the request id of the request that wrote the event. */
export const REQUEST_ID_KAFKA_HEADER = 'request-id';
/** Long enough for a UUID or a trace id; a longer or odder value from outside is replaced, never logged. */
export const REQUEST_ID_LENGTH_MAX = 100;
const REQUEST_ID_PATTERN = new RegExp(`^[\\w.:-]{1,${REQUEST_ID_LENGTH_MAX}}$`);

/** The value when it is a sane token (letters, digits, `_ . : -`, at most REQUEST_ID_LENGTH_MAX), else undefined. */
export function validRequestId(value: unknown): string | undefined {
  return typeof value === 'string' && REQUEST_ID_PATTERN.test(value) ? value : undefined;
}

export const newRequestId = (): string => randomUUID();

/**
 * The request id of the work in progress. It follows async calls, so every log line, internal call and outbox
 * row made while serving a request (or applying an event a request caused) carries it without being passed by hand.
 */
const scope = new AsyncLocalStorage<{ requestId: string | undefined }>();

/** Runs `work` as part of the request `requestId`; `undefined` runs it as part of no request (e.g. a background task). */
export function runWithRequestId<T>(requestId: string | undefined, work: () => T): T {
  return scope.run({ requestId }, work);
}

export function currentRequestId(): string | undefined {
  return scope.getStore()?.requestId;
}
