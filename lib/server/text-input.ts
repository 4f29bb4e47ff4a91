import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  type ASTNode,
  BREAK,
  type DocumentNode,
  getNamedType,
  type GraphQLInputType,
  type GraphQLSchema,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  type OperationDefinitionNode,
  TypeInfo,
  typeFromAST,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { refusedRequest } from './request-refusal.js';

/**
 * Characters no text field of the API takes: the C0 controls but tab, line feed and carriage return (a memo or a
 * retirement message may hold line breaks), DEL and the C1 controls, and a UTF-16 surrogate without its pair
 * (not Unicode text at all). PostgreSQL refuses NUL in text outright, which surfaced as INTERNAL; the others are
 * stored but invisible or dangerous where text is shown (terminals, logs, certificates).
 */
const UNSAFE_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `value` is not acceptable text, or undefined when it is. */
export function textProblem(value: string): string | undefined {
  const match = UNSAFE_CHARACTER.exec(value);
  if (!match) return undefined;
  const codeUnit = match[0].charCodeAt(0);
  if (codeUnit >= 0xd800 && codeUnit <= 0xdfff) return 'is not well-formed Unicode text (a lone surrogate)';
  return `contains the control character U+${codeUnit.toString(16).toUpperCase().padStart(4, '0')}; only tab, line feed and carriage return are allowed`;
}

interface Refusal {
  field: string;
  problem: string;
}

const isText = (type: unknown) => {
  const named = type ? getNamedType(type as GraphQLInputType) : undefined;
  return isScalarType(named) && (named.name === 'String' || named.name === 'ID');
};

/** The argument or input field a literal is the value of (the nearest one above it), from a visitor's ancestors and parent. */
export function inputFieldOf(ancestors: readonly (ASTNode | readonly ASTNode[] | undefined)[]): string {
  for (let index = ancestors.length - 1; index >= 0; index -= 1) {
    const ancestor = ancestors[index];
    if (ancestor && 'kind' in ancestor && (ancestor.kind === Kind.ARGUMENT || ancestor.kind === Kind.OBJECT_FIELD)) return ancestor.name.value;
  }
  return 'argument';
}

/** The first String or ID literal in the document that is not acceptable text. */
function literalRefusal(schema: GraphQLSchema, document: DocumentNode): Refusal | undefined {
  const typeInfo = new TypeInfo(schema);
  let refusal: Refusal | undefined;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      StringValue(node, _key, parent, _path, ancestors) {
        if (!isText(typeInfo.getInputType())) return undefined;
        const problem = textProblem(node.value);
        if (!problem) return undefined;
        refusal = { field: inputFieldOf([...ancestors, parent]), problem };
        return BREAK;
      },
    }),
  );
  return refusal;
}

/** The first String or ID inside `value` (a variable's value, read along its declared type) that is not acceptable text. */
function valueRefusal(value: unknown, type: GraphQLInputType, field: string): Refusal | undefined {
  if (value === null || value === undefined) return undefined;
  if (isNonNullType(type)) return valueRefusal(value, type.ofType, field);
  if (isListType(type)) {
    // A single value where a list is declared is coerced to a list of one.
    for (const item of Array.isArray(value) ? value : [value]) {
      const refusal = valueRefusal(item, type.ofType, field);
      if (refusal) return refusal;
    }
    return undefined;
  }
  if (isInputObjectType(type)) {
    if (typeof value !== 'object') return undefined;
    for (const inputField of Object.values(type.getFields())) {
      const refusal = valueRefusal((value as Record<string, unknown>)[inputField.name], inputField.type, inputField.name);
      if (refusal) return refusal;
    }
    return undefined;
  }
  if (!isText(type) || typeof value !== 'string') return undefined;
  const problem = textProblem(value);
  return problem ? { field, problem } : undefined;
}

function variablesRefusal(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown>): Refusal | undefined {
  for (const definition of operation.variableDefinitions ?? []) {
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    const name = definition.variable.name.value;
    const refusal = type ? valueRefusal(variables[name], type, name) : undefined;
    if (refusal) return refusal;
  }
  return undefined;
}

/**
 * Every String and ID argument a subgraph receives, inline or as a variable, is checked here once, before any
 * resolver runs: text with a NUL byte or another control character is refused with BAD_USER_INPUT naming the
 * field (HTTP 400), so no stored procedure, driver or log line ever sees it. Custom scalars (Amount, DateTime,
 * Decimal) check their own text; `_Any` carries the gateway's entity representations, not a client's input.
 */
export function textInputPlugin<Context extends BaseContext>(): ApolloServerPlugin<Context> {
  // Apollo hands the same parsed document to every request with the same text (its document cache), and what
  // the literals say does not change: each document is walked once, not once per request. One schema per
  // server, so the document alone is the key.
  const literalRefusals = new WeakMap<DocumentNode, Refusal | null>();
  const literalRefusalOf = (schema: GraphQLSchema, document: DocumentNode) => {
    let refusal = literalRefusals.get(document);
    if (refusal === undefined) {
      refusal = literalRefusal(schema, document) ?? null;
      literalRefusals.set(document, refusal);
    }
    return refusal;
  };
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, schema }) {
          const refusal = literalRefusalOf(schema, document) ?? (operation ? variablesRefusal(schema, operation, request.variables ?? {}) : undefined);
          if (refusal) throw refusedRequest('BAD_USER_INPUT', `${refusal.field} ${refusal.problem}`, { field: refusal.field });
        },
      };
    },
  };
}

/** Internal bodies are a few levels deep (a posting: entries, account, id); deeper is refused, not walked. */
const JSON_DEPTH_MAX = 16;

/**
 * The first string in a parsed JSON body (an internal route's) that is not acceptable text, named by its key;
 * a body nested deeper than JSON_DEPTH_MAX is refused as a whole.
 */
export function jsonTextRefusal(value: unknown, field = 'body', depth = 0): Refusal | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem ? { field, problem } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= JSON_DEPTH_MAX) return { field, problem: `is nested more than ${JSON_DEPTH_MAX} levels deep` };
  // An array's items are named by the key that holds the array.
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((item: unknown) => [field, item]) : Object.entries(value);
  for (const [key, item] of entries) {
    const refusal = jsonTextRefusal(item, key, depth + 1);
    if (refusal) return refusal;
  }
  return undefined;
}
