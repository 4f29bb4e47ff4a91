import type { ServerResponse } from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventMetrics, SkipReason } from '../events/contracts/index.js';
import type { Topic } from '../events/envelope.js';
import type { Logger } from '../log.js';

export const METRICS_PATH = '/metrics';

/**
 * Distinct operation names a service labels its GraphQL metrics with. Names come from clients, so past this
 * many, new ones are counted as `(other)` rather than let a client grow the process's memory and Prometheus's.
 */
export const OPERATION_NAMES_MAX = 200;
const OPERATION_NAME_LENGTH_MAX = 100;
/** From a cached read (~5 ms) to the gateway's subgraph time-out (10 s). */
const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Event versions labelled one by one; versions come off the wire, so beyond this they share one label. */
const EVENT_VERSION_LABELS_MAX = 20;
/** Codes that say the service failed, not the request: every other error code is the client's. */
const SERVER_ERROR_CODES: ReadonlySet<unknown> = new Set(['INTERNAL', 'UPSTREAM_UNAVAILABLE', 'INTERNAL_SERVER_ERROR']);

export type Outcome = 'success' | 'client_error' | 'server_error';

let processRegistry: Registry | undefined;

/**
 * Node's own metrics (CPU, memory, event-loop lag, GC), collected once per process: under `npm start` five
 * subgraphs and the gateway share one process, and each /metrics shows it.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** One service's metrics, in a registry of its own labelled with the service's name. */
export class ServiceMetrics implements EventMetrics {
  readonly registry = new Registry();
  readonly #graphqlRequests: Counter<'operation' | 'outcome'>;
  readonly #eventsSkipped: Counter<'consumer' | 'topic' | 'version' | 'reason'>;
  readonly #graphqlDuration: Histogram<'operation' | 'outcome'>;
  readonly #operationNames = new Set<string>();

  constructor(
    readonly service: string,
    private readonly log: Logger,
  ) {
    this.registry.setDefaultLabels({ service });
    processMetrics();
    this.#graphqlRequests = new Counter({
      name: 'ecocoin_graphql_requests_total',
      help: 'GraphQL operations answered over HTTP, by operation name and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [this.registry],
    });
    this.#graphqlDuration = new Histogram({
      name: 'ecocoin_graphql_request_duration_seconds',
      help: 'Time from receiving a GraphQL operation to sending its answer, by operation name and outcome',
      labelNames: ['operation', 'outcome'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [this.registry],
    });
    this.#eventsSkipped = new Counter({
      name: 'ecocoin_events_skipped_total',
      help: 'Events a consumer skipped: a version this build does not know, or data that breaks its contract',
      labelNames: ['consumer', 'topic', 'version', 'reason'],
      registers: [this.registry],
    });
  }

  eventSkipped(labels: { consumer: string; topic: Topic; version: number; reason: SkipReason }): void {
    this.#eventsSkipped.inc({ ...labels, version: labels.version <= EVENT_VERSION_LABELS_MAX ? String(labels.version) : '(other)' });
  }

  /**
   * A gauge read at scrape time. A `read` that fails or takes longer than `timeoutMs` leaves the last values
   * and is logged, so one slow dependency never fails the whole scrape.
   */
  gauge<Label extends string>(options: {
    name: string;
    help: string;
    labelNames?: readonly Label[];
    timeoutMs?: number;
    read(): Promise<readonly { labels?: Partial<Record<Label, string>>; value: number }[]>;
  }): void {
    const { log } = this;
    const timeoutMs = options.timeoutMs ?? 2_000;
    new Gauge<Label>({
      name: options.name,
      help: options.help,
      labelNames: options.labelNames ?? [],
      registers: [this.registry],
      async collect() {
        try {
          const values = await withTimeout(options.read(), timeoutMs);
          this.reset();
          for (const { labels, value } of values) {
            if (labels) this.set(labels, value);
            else this.set(value);
          }
        } catch (error) {
          log.warn({ err: error, metric: options.name }, 'metric could not be read; keeping its last value');
        }
      },
    });
  }

  histogram<Label extends string>(options: { name: string; help: string; labelNames: readonly Label[] }): Histogram<Label> {
    return new Histogram<Label>({ ...options, buckets: LATENCY_BUCKETS_SECONDS, registers: [this.registry] });
  }

  counter<Label extends string>(options: { name: string; help: string; labelNames: readonly Label[] }): Counter<Label> {
    return new Counter<Label>({ ...options, registers: [this.registry] });
  }

  /** A counter whose total is kept elsewhere (a plain number on a hot path) and read at scrape time. */
  counterOf(options: { name: string; help: string; read(): number }): void {
    let counted = 0;
    new Counter({
      name: options.name,
      help: options.help,
      registers: [this.registry],
      collect() {
        const total = options.read();
        if (total > counted) this.inc(total - counted);
        counted = total;
      },
    });
  }

  /** The label for an operation: its name while fewer than OPERATION_NAMES_MAX are known, else `(other)`. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return '(anonymous)';
    if (name.length > OPERATION_NAME_LENGTH_MAX) return '(other)';
    if (this.#operationNames.has(name)) return name;
    if (this.#operationNames.size >= OPERATION_NAMES_MAX) return '(other)';
    this.#operationNames.add(name);
    return name;
  }

  /**
   * Counts and times each GraphQL operation, and logs it at debug (with the request id, like every line of the
   * request). An operation that does not parse or validate has no trustworthy name and is labelled `(invalid)`.
   */
  graphqlPlugin<Context extends BaseContext>(): ApolloServerPlugin<Context> {
    const metrics = this;
    return {
      async requestDidStart() {
        const startedMs = performance.now();
        let resolved = false;
        return {
          async didResolveOperation() {
            resolved = true;
          },
          async willSendResponse({ operationName, response }) {
            const durationSeconds = (performance.now() - startedMs) / 1000;
            const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
            const outcome = outcomeOf(errors?.map((error) => error.extensions?.code));
            const operation = resolved ? metrics.operationLabel(operationName) : '(invalid)';
            metrics.#graphqlRequests.inc({ operation, outcome });
            metrics.#graphqlDuration.observe({ operation, outcome }, durationSeconds);
            metrics.log.debug({ operation, outcome, durationMs: Math.round(durationSeconds * 1000) }, 'graphql request');
          },
        };
      },
    };
  }

  /** The Prometheus text format: the process's metrics, then this service's. */
  async serve(response: ServerResponse): Promise<void> {
    const text = `${await processMetrics().metrics()}\n${await this.registry.metrics()}`;
    response.writeHead(200, { 'content-type': this.registry.contentType, 'content-length': Buffer.byteLength(text) });
    response.end(text);
  }
}

export function outcomeOf(errorCodes: readonly unknown[] | undefined): Outcome {
  if (!errorCodes?.length) return 'success';
  return errorCodes.some((code) => SERVER_ERROR_CODES.has(code) || code === undefined) ? 'server_error' : 'client_error';
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
