import { performance } from 'node:perf_hooks';

/** Milliseconds since the epoch, to the microsecond: comparable between the processes of one machine, unlike performance.now(). */
export const epochMs = () => performance.timeOrigin + performance.now();

/**
 * One price the benchmark published: when, when the plain kafkajs consumer got it, and whether every client
 * process has reported it on every open socket (each subscriber's own receive time stays in its client process
 * until the crowd's record is collected).
 */
export class Tick {
  publishedAtMs = Number.NaN;
  consumerReceivedAtMs = Number.NaN;
  consumerDuplicates = 0;
  /** Resolves when the consumer and (if the board has subscribers) every client process have it. */
  readonly delivered: Promise<void>;
  #waitingFor: number;
  #resolve: () => void = () => {};

  constructor(
    readonly value: string,
    readonly measured: boolean,
    withSubscribers: boolean,
  ) {
    this.#waitingFor = withSubscribers ? 2 : 1;
    this.delivered = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  clientsHaveIt() {
    this.#arrived();
  }

  consumerReceived(atMs: number) {
    if (!Number.isNaN(this.consumerReceivedAtMs)) {
      this.consumerDuplicates += 1;
      return;
    }
    this.consumerReceivedAtMs = atMs;
    this.#arrived();
  }

  #arrived() {
    this.#waitingFor -= 1;
    if (this.#waitingFor === 0) this.#resolve();
  }
}

/**
 * The ticks of one phase (a crowd of subscribers, or none), found by their price, which is unique in the run.
 * A price the board never issued (the price subgraph's own poller, say) is counted, not recorded.
 */
export class TickBoard {
  readonly ticks: Tick[] = [];
  readonly #byValue = new Map<string, Tick>();
  foreignEvents = 0;
  consumerHasOne = false;

  constructor(
    readonly withSubscribers: boolean,
    private readonly nextValue: () => string,
  ) {}

  issue(measured: boolean): Tick {
    const tick = new Tick(this.nextValue(), measured, this.withSubscribers);
    this.ticks.push(tick);
    this.#byValue.set(tick.value, tick);
    return tick;
  }

  has(value: string): boolean {
    return this.#byValue.has(value);
  }

  tickOf(value: string): Tick | undefined {
    return this.#byValue.get(value);
  }

  clientsHaveIt(value: string) {
    this.#byValue.get(value)?.clientsHaveIt();
  }

  consumerReceived(value: string) {
    const atMs = epochMs();
    const tick = this.#byValue.get(value);
    if (!tick) {
      this.foreignEvents += 1;
      return;
    }
    tick.consumerReceived(atMs);
    this.consumerHasOne = true;
  }
}

/**
 * Prices unique in the run, as the price subgraph will send them back: Price.value trims trailing zeros, so
 * every value ends in 1.
 */
export function uniquePrices(): () => string {
  let sequence = 0;
  return () => {
    sequence += 1;
    return `1.${String(sequence).padStart(6, '0')}1`;
  };
}
