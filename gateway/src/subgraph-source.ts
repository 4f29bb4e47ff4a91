import { RemoteGraphQLDataSource } from '@apollo/gateway';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { INTERNAL_CREDENTIAL_HEADER } from '../../lib/auth/internal-credential.js';
import { AppError, ERROR_CODES, toPublicError } from '../../lib/errors.js';
import { KeptAlivePoster } from '../../lib/kept-alive-post.js';
import { REQUEST_ID_HEADER } from '../../lib/request-id.js';
import type { GatewayContext } from './context.js';
import { InFlight } from './in-flight.js';

type Fetcher = RemoteGraphQLDataSource['fetcher'];
type FetcherInit = NonNullable<Parameters<Fetcher>[1]>;
type FetcherResponse = Awaited<ReturnType<Fetcher>>;
type AnswerHeadersShape = FetcherResponse['headers'];
type ProcessOptions = Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0];

/**
 * Put on a fetch by willSendRequest when it may share an identical one in flight, and taken off again by the fetcher:
 * willSendRequest sees which operation a fetch is for, the fetcher only the HTTP request, and a header is what
 * Apollo passes from one to the other.
 */
const SHAREABLE_MARK = 'x-gateway-shareable';

export interface SubgraphSourceOptions {
  timeoutMs: number;
  /** Identical queries in flight at the same moment share one fetch (SUBGRAPH_DEDUPLICATION). */
  deduplicate: boolean;
  /** Told how each fetch went: its HTTP status class (`2xx`, `4xx`, `5xx`) or `unreachable`, and how long it took. */
  onFetch?: (outcome: string, durationSeconds: number) => void;
  /** Told each time a fetch is not made because an identical one in flight answers it. */
  onDeduplicated?: () => void;
}

/**
 * One subgraph as the gateway calls it: the internal credential (carrying the caller's identity) and the
 * request id on every fetch, a hard time-out, a stable UPSTREAM_UNAVAILABLE when the subgraph cannot be reached, and
 * a subgraph's refusal of the client's input passed on as the client's error. Identical queries in flight at the
 * same moment share one fetch, each caller getting its own copy of the answer.
 */
export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly #inFlight: InFlight<SubgraphAnswer>;
  readonly #url: URL;

  constructor(
    private readonly name: string,
    url: string,
    private readonly options: SubgraphSourceOptions,
  ) {
    super({ url });
    this.#url = new URL(url);
    this.#inFlight = new InFlight(options.onDeduplicated);
    // Apollo fetches this source's own URL only: it is parsed once, here, and not for every fetch.
    this.fetcher = async (_url, init = {}) => {
      const { [SHAREABLE_MARK]: shareable, ...headers } = init.headers ?? {};
      const fetchInit = { ...init, headers };
      const answer = await (shareable ? this.#inFlight.share(sharingKey(fetchInit), () => this.#fetch(fetchInit)) : this.#fetch(fetchInit));
      return new AnswerResponse(answer);
    };
  }

  /**
   * The whole answer, its body read under the same time-out. When identical fetches share it, every waiter gets a
   * response of its own, which Apollo then reads, checks and maps (didEncounterError) for that waiter exactly as if
   * it had fetched alone; a fetch that fails fails the same way for each. A waiter that joins late has only what is
   * left of the first one's time-out: never longer than its own would have been, and the subgraph is answering
   * already.
   */
  async #fetch(init: FetcherInit): Promise<SubgraphAnswer> {
    const startedMs = performance.now();
    const seconds = () => (performance.now() - startedMs) / 1000;
    const onFetch = this.options.onFetch ?? (() => {});
    try {
      const answer = await readAnswer(this.#url, init, this.options.timeoutMs);
      onFetch(`${Math.floor(answer.status / 100)}xx`, seconds());
      return answer;
    } catch (error) {
      onFetch('unreachable', seconds());
      throw error;
    }
  }

  override willSendRequest(options: ProcessOptions) {
    const { request, context } = options;
    // Identity travels only inside the signed credential; client headers are never forwarded.
    request.http?.headers.set(INTERNAL_CREDENTIAL_HEADER, context.internalCredential);
    // A shared fetch carries the first caller's request id alone: the subgraph did the work once, under that id,
    // and the callers that joined were answered from it.
    request.http?.headers.set(REQUEST_ID_HEADER, context.requestId);
    if (this.options.deduplicate && isQueryFetch(options)) request.http?.headers.set(SHAREABLE_MARK, 'yes');
  }

  override didEncounterError(error: Error, _request: unknown, fetchResponse?: { status: number }): never {
    if (error instanceof AppError) throw error;
    // No answer, a time-out or a 5xx is an outage: the one case that is UPSTREAM_UNAVAILABLE (and counted as one).
    // A 401/403 means the gateway's own credential was refused: a deployment fault that looks the same to a client.
    if (!fetchResponse || fetchResponse.status >= 500 || fetchResponse.status === 401 || fetchResponse.status === 403) {
      throw new AppError('UPSTREAM_UNAVAILABLE', `The ${this.name} service is unavailable; try again shortly`);
    }
    // Any other 4xx is a refusal of a request the subgraph would not run at all: an argument its scalar or its
    // text check rejects, a value a resolver never saw. Those are the client's to see, with the field named.
    const refusal = clientRefusal(error);
    if (refusal) throw refusal;
    // A 4xx without a client's code means the gateway sent something its subgraph does not take: our bug.
    throw new Error(`the ${this.name} subgraph refused a request with HTTP ${fetchResponse.status}: ${error.message}`);
  }
}

/** Codes a subgraph answers with 4xx that describe what the client sent. */
const CLIENT_REFUSAL_CODES: ReadonlySet<unknown> = new Set(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', ...ERROR_CODES.filter((code) => code !== 'INTERNAL' && code !== 'UPSTREAM_UNAVAILABLE')]);

function clientRefusal(error: Error): GraphQLError | undefined {
  const body = (error as { extensions?: { response?: { body?: unknown } } }).extensions?.response?.body as { errors?: GraphQLFormattedError[] } | undefined;
  const first = body?.errors?.[0];
  if (typeof first?.message !== 'string' || !CLIENT_REFUSAL_CODES.has(first.extensions?.code)) return undefined;
  // The subgraph's own filter has run already; this one keeps only the public extensions (the field, not serviceName).
  const published = toPublicError({ message: first.message, extensions: first.extensions }, () => {});
  return new GraphQLError(published.message, { extensions: published.extensions });
}

/**
 * Only a query's fetches are shared. A mutation's never are: each must run, and its reads must see its own writes,
 * not an identical read that began before them. Nor are a subscription's (the entity fetches for its events run
 * with a request context that names no operation).
 */
function isQueryFetch(options: ProcessOptions): boolean {
  return 'incomingRequestContext' in options && options.incomingRequestContext.operation?.operation === 'query';
}

/**
 * Everything the subgraph is sent but the request id: the URL is this source's own, the headers carry the internal
 * credential (which names the caller's identity, and is the same for every anonymous caller), and the body is the
 * document, variables and operation name as Apollo serialised them. That text is used as it is: sorting the
 * variables' keys would cost more than it could win (an identical request whose input objects list their fields in
 * another order is merely not shared).
 */
function sharingKey(init: FetcherInit): string {
  let key = String(init.body);
  for (const [name, value] of Object.entries(init.headers ?? {})) if (name !== REQUEST_ID_HEADER) key += `\n${name}: ${value}`;
  return key;
}

/** A subgraph's answer read whole, so that several callers can each be given their own. */
interface SubgraphAnswer {
  url: string;
  status: number;
  statusText: string;
  /** By lower-case name, as node:http gives them. */
  headers: ReadonlyMap<string, string>;
  body: string;
}

/** Sockets kept per subgraph and gateway process: more fetches than this in flight wait their turn. */
const SOCKETS_PER_SUBGRAPH_MAX = 256;
const poster = new KeptAlivePoster(SOCKETS_PER_SUBGRAPH_MAX);

/** One fetch's whole answer, its body read under the same time-out, with its headers by lower-case name. */
async function readAnswer(url: URL, init: FetcherInit, timeoutMs: number): Promise<SubgraphAnswer> {
  const answer = await poster.post(url, init.headers ?? {}, String(init.body ?? ''), timeoutMs);
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  return { url: url.href, status: answer.status, statusText: answer.statusText, headers, body: answer.body };
}

/**
 * One caller's own response to an answer. Apollo's executor may change what a fetch returns, so no two waiters of
 * a shared answer may hold the same objects: each parses the shared text itself. Parsing per waiter costs about
 * half what a structuredClone of one parsed answer does, and a `new Response` per waiter ten times either.
 */
class AnswerResponse implements FetcherResponse {
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  readonly redirected = false;
  readonly ok: boolean;
  readonly headers: AnswerHeaders;
  bodyUsed = false;

  constructor(private readonly answer: SubgraphAnswer) {
    ({ url: this.url, status: this.status, statusText: this.statusText } = answer);
    this.ok = answer.status >= 200 && answer.status < 300;
    this.headers = new AnswerHeaders(answer.headers);
  }

  async text(): Promise<string> {
    this.bodyUsed = true;
    return this.answer.body;
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return new TextEncoder().encode(await this.text()).buffer;
  }

  clone(): AnswerResponse {
    return new AnswerResponse(this.answer);
  }
}

/**
 * An answer's headers, read-only: Apollo only reads them (content-type, cache-control). The answer's own map is
 * shared by its waiters, so changing it is refused rather than seen by the others. Not a fetch Headers: building
 * one per response costs more than everything Apollo reads from it.
 */
class AnswerHeaders implements AnswerHeadersShape {
  constructor(private readonly byName: ReadonlyMap<string, string>) {}

  get(name: string): string | null {
    return this.byName.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.byName.has(name.toLowerCase());
  }

  append(): never {
    throw new Error('a subgraph answer\'s headers are read-only');
  }

  delete(): never {
    throw new Error('a subgraph answer\'s headers are read-only');
  }

  set(): never {
    throw new Error('a subgraph answer\'s headers are read-only');
  }

  entries(): IterableIterator<[string, string]> {
    return this.byName.entries();
  }

  keys(): IterableIterator<string> {
    return this.byName.keys();
  }

  values(): IterableIterator<string> {
    return this.byName.values();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.byName.entries();
  }
}
