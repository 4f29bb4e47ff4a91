/** One GraphQL answer as it came over HTTP. */
export interface GraphQLAnswer<Data> {
  httpStatus: number;
  data?: Data | null;
  errors?: { message: string; extensions?: { code?: unknown } }[];
}

/** Longer than any answer the services give while healthy (their own internal time-outs are 5 s and 10 s). */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Posts a document; throws when no GraphQL answer came back (no connection, time-out, a body that is not JSON). */
export async function postGraphQL<Data>(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>): Promise<GraphQLAnswer<Data>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  let body: Omit<GraphQLAnswer<Data>, 'httpStatus'>;
  try {
    body = JSON.parse(text) as Omit<GraphQLAnswer<Data>, 'httpStatus'>;
  } catch {
    throw new Error(`HTTP ${response.status} without JSON from ${url}: ${text.slice(0, 200)}`);
  }
  return { httpStatus: response.status, ...body };
}

/** The first error's code (`UNKNOWN` when it has none), or undefined when the answer has no errors. */
export function errorCodeOf(answer: GraphQLAnswer<unknown>): string | undefined {
  const first = answer.errors?.[0];
  if (!first) return undefined;
  return typeof first.extensions?.code === 'string' ? first.extensions.code : 'UNKNOWN';
}

/** For setup, where any error is a reason to stop: the data, or an error naming the code and message. */
export async function expectData<Data>(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Data> {
  const answer = await postGraphQL<Data>(url, query, variables, headers);
  const code = errorCodeOf(answer);
  if (code !== undefined || !answer.data) throw new Error(`setup request failed with ${code ?? `HTTP ${answer.httpStatus}`}: ${answer.errors?.[0]?.message ?? 'no data'}`);
  return answer.data;
}
