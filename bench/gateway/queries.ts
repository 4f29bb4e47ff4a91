import type { SubgraphName } from '../../lib/subgraphs.js';

/** How many rows the history query asks for; setup makes more transfers than this between the two users. */
export const HISTORY_ROWS = 20;

export type QueryName = 'me' | 'price' | 'history';

/** One measured query: what a client sends a gateway, and the part of it one subgraph answers on its own. */
export interface BenchQuery {
  name: QueryName;
  /** The document sent to every gateway. */
  document: string;
  /** The subgraphs the gateway's plan calls. */
  subgraphs: SubgraphName[];
  /** What the gateway would send this subgraph, sent straight to it: the whole query or, across subgraphs, its first fetch. */
  direct: { subgraph: SubgraphName; document: string };
  /** Why `data` is not the answer asked for, or undefined when it is; runs on every answer in the load generator. */
  problemOf(data: unknown, path: 'gateway' | 'direct'): string | undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const DECIMAL = /^\d+(\.\d+)?$/;

export const QUERIES: readonly BenchQuery[] = [
  {
    name: 'me',
    document: /* GraphQL */ `query Me { me { wallets { currency balance } } }`,
    subgraphs: ['user'],
    direct: { subgraph: 'user', document: /* GraphQL */ `query Me { me { wallets { currency balance } } }` },
    problemOf(data) {
      const wallets = isRecord(data) && isRecord(data.me) ? data.me.wallets : undefined;
      if (!Array.isArray(wallets) || wallets.length === 0) return 'me.wallets missing or empty';
      const bad = wallets.find((wallet) => !isRecord(wallet) || !isNonEmptyString(wallet.currency) || typeof wallet.balance !== 'string' || !DECIMAL.test(wallet.balance));
      return bad === undefined ? undefined : 'a wallet without a currency or a decimal balance';
    },
  },
  {
    name: 'price',
    document: /* GraphQL */ `query Price { price(symbol: MCO2) { symbol vs value source observedAt stale } }`,
    subgraphs: ['price'],
    direct: { subgraph: 'price', document: /* GraphQL */ `query Price { price(symbol: MCO2) { symbol vs value source observedAt stale } }` },
    problemOf(data) {
      const price = isRecord(data) ? data.price : undefined;
      if (!isRecord(price)) return 'price missing';
      if (price.symbol !== 'MCO2' || price.vs !== 'USD') return `price of ${String(price.symbol)}/${String(price.vs)}, not MCO2/USD`;
      if (typeof price.value !== 'string' || !DECIMAL.test(price.value)) return 'price.value not a decimal';
      return isNonEmptyString(price.source) && isNonEmptyString(price.observedAt) && typeof price.stale === 'boolean' ? undefined : 'price without source, observedAt or stale';
    },
  },
  {
    name: 'history',
    document: /* GraphQL */ `query History { transactions(first: ${HISTORY_ROWS}) { edges { node { id amount currency from { displayName } to { displayName } } } } }`,
    subgraphs: ['transaction', 'user'],
    // The transaction subgraph's part of the plan: the parties are references it answers with their ids alone.
    direct: { subgraph: 'transaction', document: /* GraphQL */ `query History { transactions(first: ${HISTORY_ROWS}) { edges { node { id amount currency from { __typename id } to { __typename id } } } } }` },
    problemOf(data, path) {
      const edges = isRecord(data) && isRecord(data.transactions) ? data.transactions.edges : undefined;
      if (!Array.isArray(edges) || edges.length !== HISTORY_ROWS) return `not ${HISTORY_ROWS} transactions`;
      const party = path === 'gateway' ? 'displayName' : 'id';
      const complete = edges.every((edge) => isRecord(edge) && isRecord(edge.node) && isNonEmptyString(edge.node.id) && isRecord(edge.node.from) && isRecord(edge.node.to) && isNonEmptyString(edge.node.from[party]) && isNonEmptyString(edge.node.to[party]));
      return complete ? undefined : `a transaction without from.${party} or to.${party}`;
    },
  },
];

export const queryNamed = (name: QueryName): BenchQuery => {
  const query = QUERIES.find((candidate) => candidate.name === name);
  if (!query) throw new Error(`no query named ${name}`);
  return query;
};
