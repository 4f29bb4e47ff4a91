import { performance } from 'node:perf_hooks';
import type { GraphQLSchema } from 'graphql';
import { checkOperation, type OperationLimits } from '../../gateway/src/operation-limits.js';
import { request } from 'node:http';
import { SHAPES, type ShapeName, shapeOfSize } from './shapes.js';

/** The size of every document measured: far below the gateway's 1 MB body limit, far above any real operation. */
export const DOCUMENT_BYTES = 64 * 1024;

export interface Timing {
  /** The answer: a code, or `accepted`. */
  outcome: string;
  worstMs: number;
  medianMs: number;
}

export interface ShapeResult {
  shape: ShapeName;
  /** How many fragments, aliases, fields, tokens, directives or levels fit in the document. */
  count: number;
  bytes: number;
  /** In process: parse, validate and cost exactly as the gateway does (the WebSocket path is this function). */
  inProcess: Timing;
  /** The same with the token limit lifted: the validation rules and the cost on the whole 64 KB document. */
  tokensLifted: Timing;
  /** graphql's own parse and rules alone, without any of our limits (the gateway before them). */
  graphqlAlone: Timing;
  /** POST to the gateway's /graphql with the limits on, from sending to the whole answer. */
  throughGateway: Timing;
}

/** Every shape at 64 KB, each checked `repeats` times in process (three ways) and through the gateway. */
export async function measureShapes(schema: GraphQLSchema, limits: OperationLimits, gatewayUrl: string, repeats: number, progress: (line: string) => void): Promise<ShapeResult[]> {
  const results: ShapeResult[] = [];
  const lifted = { ...limits, tokensMax: Number.MAX_SAFE_INTEGER };
  for (const shape of Object.keys(SHAPES) as ShapeName[]) {
    const { count, document } = shapeOfSize(shape, DOCUMENT_BYTES);
    const check = (checkLimits: OperationLimits | null) => async () => codeOf(checkOperation(schema, document, undefined, {}, checkLimits).errors?.[0]?.extensions.code);
    const result: ShapeResult = {
      shape,
      count,
      bytes: Buffer.byteLength(document),
      inProcess: await time(check(limits), repeats),
      tokensLifted: await time(check(lifted), repeats),
      graphqlAlone: await time(check(null), repeats),
      throughGateway: await time(async () => codeOf(await postDocument(gatewayUrl, document)), repeats),
    };
    progress(`${shape} (${count}, ${result.bytes} bytes): in process ${result.inProcess.outcome} worst ${result.inProcess.worstMs.toFixed(2)} ms; token limit lifted ${result.tokensLifted.outcome} worst ${result.tokensLifted.worstMs.toFixed(1)} ms; graphql alone ${result.graphqlAlone.outcome} worst ${result.graphqlAlone.worstMs.toFixed(1)} ms; through the gateway ${result.throughGateway.outcome} worst ${result.throughGateway.worstMs.toFixed(1)} ms`);
    results.push(result);
  }
  return results;
}

/**
 * POSTs the document on a connection of its own: the in-process checks hold this thread for seconds, and a
 * kept-alive socket closed by the server meanwhile would be reused and reset. Resolves with the first error's code.
 */
function postDocument(url: string, query: string): Promise<unknown> {
  const body = JSON.stringify({ query });
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        try {
          const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { errors?: { extensions?: { code?: unknown } }[] };
          resolve(answer.errors?.[0]?.extensions?.code);
        } catch (error) {
          reject(error);
        }
      });
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function codeOf(code: unknown): string {
  return code === undefined ? 'accepted' : String(code);
}

/** Runs `attempt` `repeats` times one after another; every outcome must be the same, or the worst is of mixed things. */
async function time(attempt: () => Promise<string>, repeats: number): Promise<Timing> {
  const durationsMs: number[] = [];
  const outcomes = new Set<string>();
  for (let index = 0; index < repeats; index++) {
    const startedMs = performance.now();
    outcomes.add(await attempt());
    durationsMs.push(performance.now() - startedMs);
  }
  durationsMs.sort((a, b) => a - b);
  return { outcome: [...outcomes].join(' / '), worstMs: durationsMs.at(-1) ?? Number.NaN, medianMs: durationsMs[Math.floor(durationsMs.length / 2)] ?? Number.NaN };
}
