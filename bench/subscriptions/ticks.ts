import { performance } from 'node:perf_hooks';

/**
 * One price the benchmark published, and when each receiver got it: every subscriber of the crowd (by index)
 * and the plain kafkajs consumer. All times are performance.now() in this process, so they share one clock.
 */
export class Tick {
  publishedAtMs = Number.NaN;
  /** NaN until that subscriber has it. */
  readonly subscriberReceivedAtMs: Float64Array;
  consumerReceivedAtMs = Number.NaN;
  /** The same tick again to a receiver that already had it. */
  subscriberDuplicates = 0;
  consumerDuplicates = 0;
  /** Resolves when every receiver has it. */
  readonly delivered: Promise<void>;
  #waitingFor: number;
  #resolve: () => void = () => {};

  constructor(
    readonly value: string,
    readonly measured: boolean,
    subscriberCount: number,
  ) {
    this.subscriberReceivedAtMs = new Float64Array(subscriberCount).fill(Number.NaN);
    this.#waitingFor = subscriberCount + 1;
    this.delivered = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  subscriberReceived(index: number, atMs: number) {
    if (!Number.isNaN(this.subscriberReceivedAtMs[index] as number)) {
      this.subscriberDuplicates += 1;
      return;
    }
    this.subscriberReceivedAtMs[index] = atMs;
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
  /** Which subscribers have received any tick: from its first, a subscriber is surely attached to the upstream. */
  readonly #subscriberHasOne: Uint8Array;
  subscribersWithOne = 0;
  consumerHasOne = false;

  constructor(
    readonly subscriberCount: number,
    private readonly nextValue: () => string,
  ) {
    this.#subscriberHasOne = new Uint8Array(subscriberCount);
  }

  get allHaveOne(): boolean {
    return this.consumerHasOne && this.subscribersWithOne === this.subscriberCount;
  }

  issue(measured: boolean): Tick {
    const tick = new Tick(this.nextValue(), measured, this.subscriberCount);
    this.ticks.push(tick);
    this.#byValue.set(tick.value, tick);
    return tick;
  }

  subscriberReceived(index: number, value: string) {
    const atMs = performance.now();
    const tick = this.#byValue.get(value);
    if (!tick) {
      this.foreignEvents += 1;
      return;
    }
    tick.subscriberReceived(index, atMs);
    if (this.#subscriberHasOne[index] === 0) {
      this.#subscriberHasOne[index] = 1;
      this.subscribersWithOne += 1;
    }
  }

  consumerReceived(value: string) {
    const atMs = performance.now();
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
