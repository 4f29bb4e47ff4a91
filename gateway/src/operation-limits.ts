import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  parse,
  type ParseOptions,
  specifiedRules,
  validate,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { GatewayConfig } from './config.js';
import { operationCost } from './operation-cost.js';

/**
 * What one operation may ask of the platform (README, "Operation limits"; QUERY_*_MAX in gateway/src/config.ts).
 * Each is checked in time linear in the document, before any subgraph is called, on HTTP and WebSocket alike.
 */
export interface OperationLimits {
  /** Fields nested in fields, each fragment spread counting as one more level. */
  depthMax: number;
  aliasesMax: number;
  /** Lexical tokens: counted while parsing, which stops at the limit before a larger tree is built. */
  tokensMax: number;
  directivesMax: number;
  /** The worst number of objects resolved, lists weighed by their size (operation-cost.ts). */
  costMax: number;
  /** "Did you mean …" names schema fields and values to a guesser; production leaves it out. */
  hideSuggestions: boolean;
}

/** The code of every refusal here: a document the client can fix, answered with HTTP 400. */
const REFUSAL_CODE = 'GRAPHQL_VALIDATION_FAILED';

/**
 * graphql-armor's rules report by throwing out of graphql's validate(), which would end validation with an
 * internal error; reported through the context instead, the refusal is one more validation error. Their messages
 * start "Syntax Error:", which the document is not.
 */
const armorCallbacks = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')))],
};

/** graphql-armor's depth, aliases and directives rules; each costs every fragment once however often it is spread. */
export function operationLimitRules(limits: OperationLimits): ValidationRule[] {
  return [
    // As graphql-armor does by default, a fragment spread counts as a level (so fragments nested in fragments, a
    // fragment bomb, meet the limit however few fields they hold), and introspection is left out: the schema
    // tools' query nests `ofType` nine deep, the gateway answers it from memory, and production refuses it outright.
    maxDepthRule({ n: limits.depthMax, flattenFragments: false, ignoreIntrospection: true, ...armorCallbacks }),
    maxAliasesRule({ n: limits.aliasesMax, ...armorCallbacks }),
    maxDirectivesRule({ n: limits.directivesMax, ...armorCallbacks }),
  ] as ValidationRule[];
}

export function parseOptions(limits: OperationLimits): ParseOptions {
  return { maxTokens: limits.tokensMax };
}

/** The refusal of an operation over the cost budget, or undefined when it fits. */
export function costRefusal(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | undefined, limits: OperationLimits): GraphQLError | undefined {
  const cost = costOf(schema, document, operationName, variables);
  if (cost <= limits.costMax) return undefined;
  return new GraphQLError(`Operation cost limit of ${limits.costMax} exceeded, found ${cost > Number.MAX_SAFE_INTEGER ? 'more than 2^53' : cost}: ask for fewer items (first) or fewer nested lists`, {
    extensions: { code: REFUSAL_CODE },
  });
}

/**
 * Costs already worked out, by document and operation name, for operations without variables: their cost cannot
 * change from one request to the next. Apollo keeps one parsed document per query text and hands that same object
 * to every request, so a popular query is walked once, not per request; a document that is no longer kept is
 * forgotten with it.
 */
const fixedCosts = new WeakMap<DocumentNode, Map<string, number>>();

function costOf(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | undefined): number {
  const operation = getOperationAST(document, operationName);
  if (operation?.variableDefinitions?.length) return operationCost(schema, document, operationName, variables);
  let byName = fixedCosts.get(document);
  if (!byName) fixedCosts.set(document, (byName = new Map()));
  const key = operationName ?? '';
  let cost = byName.get(key);
  if (cost === undefined) byName.set(key, (cost = operationCost(schema, document, operationName, variables)));
  return cost;
}

const SUGGESTION = / ?Did you mean [^?]*\?/g;

/** The message without graphql's "Did you mean …?" hints (they name fields and values to whoever guesses). */
export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '');
}

export type CheckedOperation = { document: DocumentNode; errors?: undefined } | { document?: undefined; errors: GraphQLError[] };

/**
 * Everything the HTTP path checks, in its order, for a caller that runs graphql itself (the WebSocket server,
 * the benchmark): parse within the token limit, validate with graphql's rules and the limits, then the cost.
 * Without limits (only the benchmark that measures what they cost), graphql's own checks alone.
 */
export function checkOperation(
  schema: GraphQLSchema,
  source: string,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | undefined,
  limits: OperationLimits | null,
  /** Rules the HTTP path also runs that are not limits (e.g. the scalars' literal checks). */
  extraRules: readonly ValidationRule[] = [],
): CheckedOperation {
  let document: DocumentNode;
  try {
    document = parse(source, limits ? parseOptions(limits) : undefined);
  } catch (error) {
    return { errors: [new GraphQLError(withoutSuggestionsIf(limits, (error as Error).message), { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })] };
  }
  const rules = [...specifiedRules, ...(limits ? operationLimitRules(limits) : []), ...extraRules];
  const invalid = validate(schema, document, rules, { hideSuggestions: limits?.hideSuggestions ?? false });
  if (invalid.length) return { errors: invalid.map((error) => new GraphQLError(error.message, { extensions: { ...error.extensions, code: REFUSAL_CODE } })) };
  const tooCostly = limits ? costRefusal(schema, document, operationName, variables, limits) : undefined;
  return tooCostly ? { errors: [tooCostly] } : { document };
}

function withoutSuggestionsIf(limits: OperationLimits | null, message: string): string {
  return limits?.hideSuggestions ? withoutSuggestions(message) : message;
}

/** The limits in Apollo Server's terms: token limit at parse, the rules at validation, the cost once variables are known. */
export function apolloOperationLimits<Context extends BaseContext>(limits: OperationLimits) {
  const costPlugin: ApolloServerPlugin<Context> = {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operationName, request }) {
          const refusal = costRefusal(schema, document, operationName, request.variables, limits);
          if (refusal) throw new GraphQLError(refusal.message, { extensions: { ...refusal.extensions, http: { status: 400 } } });
        },
      };
    },
  };
  return {
    parseOptions: parseOptions(limits),
    validationRules: operationLimitRules(limits),
    validationOptions: { hideSuggestions: limits.hideSuggestions },
    costPlugin,
  };
}

/** The limits as configured (QUERY_*_MAX); suggestions are hidden in production. */
export function operationLimitsOf(config: GatewayConfig): OperationLimits {
  return {
    depthMax: config.QUERY_DEPTH_MAX,
    aliasesMax: config.QUERY_ALIASES_MAX,
    tokensMax: config.QUERY_TOKENS_MAX,
    directivesMax: config.QUERY_DIRECTIVES_MAX,
    costMax: config.QUERY_COST_MAX,
    hideSuggestions: config.NODE_ENV === 'production',
  };
}
