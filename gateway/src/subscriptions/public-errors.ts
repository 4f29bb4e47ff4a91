import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { toPublicError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';

/**
 * The errors of one subscription event as a client may see them: the same filter as every HTTP answer
 * (a public code and message, only the public extensions). Errors from the subgraph that pushed the event and
 * from the entity fetches that complete it otherwise carry `serviceName` and whatever else the executor adds.
 */
export function publicErrors(errors: readonly GraphQLFormattedError[], log: Logger): GraphQLError[] {
  return errors.map((error) => {
    const published = toPublicError({ message: error.message, path: error.path, extensions: error.extensions }, (details) => log.error({ error: details }, 'internal error in a subscription event'));
    return new GraphQLError(published.message, { path: published.path, extensions: published.extensions });
  });
}
