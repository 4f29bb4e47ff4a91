import { buildOperationContext } from '@apollo/gateway';
import { operationFromDocument, type Schema, Supergraph } from '@apollo/federation-internals';
import { type FetchNode, type PlanNode, QueryPlanner, type SubscriptionNode } from '@apollo/query-planner';
import type { DocumentNode, GraphQLSchema } from 'graphql';

export interface SubscriptionPlan {
  /** The subscription sent to the subgraph that owns the field. */
  primary: FetchNode;
  /**
   * The primary's operation without the name the planner derives from the client's (`Ticker__price__0`): the
   * name changes nothing the subgraph sends, so clients that name the same subscription differently share one upstream.
   */
  upstreamOperation: string;
  /** Entity fetches that complete each event with fields of other subgraphs. */
  rest: PlanNode | undefined;
  operationContext: ReturnType<typeof buildOperationContext>;
}

/**
 * Plans subscriptions with Apollo's own query planner, built from the same supergraph as the gateway, the
 * way Apollo Router does: a plan `Subscription { Primary: Fetch(service), Rest }`.
 */
export class SubscriptionPlanner {
  readonly apiSchema: GraphQLSchema;
  readonly supergraphSchema: GraphQLSchema;
  readonly federationApiSchema: Schema;
  readonly #planner: QueryPlanner;

  constructor(supergraphSdl: string) {
    const supergraph = Supergraph.build(supergraphSdl);
    this.federationApiSchema = supergraph.apiSchema();
    this.apiSchema = this.federationApiSchema.toGraphQLJSSchema();
    this.supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.#planner = new QueryPlanner(supergraph);
  }

  /** The plan of a validated subscription document. */
  plan(document: DocumentNode, operationName: string | undefined): SubscriptionPlan {
    const operation = operationFromDocument(this.federationApiSchema, document, { operationName });
    const plan = this.#planner.buildQueryPlan(operation);
    const node = plan.node as SubscriptionNode | undefined;
    if (node?.kind !== 'Subscription') throw new Error(`expected a subscription plan, got ${node?.kind ?? 'none'}`);
    const upstreamOperation = node.primary.operation.replace(/^subscription\s+[_A-Za-z][_0-9A-Za-z]*/, 'subscription');
    return { primary: node.primary, upstreamOperation, rest: node.rest, operationContext: buildOperationContext({ schema: this.apiSchema, operationDocument: document, operationName }) };
  }
}
