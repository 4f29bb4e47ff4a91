import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { type DocumentNode, Kind } from 'graphql';
import { refusedRequest } from '../../lib/server/request-refusal.js';

/**
 * Why no operation of `document` can be run for `operationName`: several operations and no name, or a name the
 * document does not hold. Undefined when one operation is chosen.
 */
export function operationSelectionProblem(document: DocumentNode, operationName: string | null | undefined): string | undefined {
  const names = document.definitions.flatMap((definition) => (definition.kind === Kind.OPERATION_DEFINITION ? [definition.name?.value ?? null] : []));
  if (operationName) return names.includes(operationName) ? undefined : `The document has no operation named "${operationName}"`;
  if (names.length > 1) return `The document has ${names.length} operations: name the one to run in operationName`;
  return names.length === 0 ? 'The document has no operation to run' : undefined;
}

/**
 * Apollo Server finds no operation for two operations without `operationName`, or an unknown name, and hands the
 * gateway nothing to run; the gateway's executor then throws a plain Error and the client got HTTP 500 INTERNAL.
 * The mistake is the client's: it is refused here, before execution, with a code and HTTP 400.
 */
export function operationSelectionPlugin<Context extends BaseContext>(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request }) {
          if (operation) return;
          throw refusedRequest('OPERATION_RESOLUTION_FAILURE', operationSelectionProblem(document, request.operationName) ?? 'No operation to run');
        },
      };
    },
  };
}
