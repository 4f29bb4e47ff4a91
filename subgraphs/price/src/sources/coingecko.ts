import { z } from 'zod';
import { backoffDelayMs } from '../../../../lib/backoff.js';
import type { Logger } from '../../../../lib/log.js';
import { type PriceSource, type PriceSymbol, type Observation, PRICE_SYMBOLS, type RawObservation } from './source.js';
import { checkObservation } from './validate.js';

/** CoinGecko's coin ids for what we price. */
export const COINGECKO_IDS: Record<PriceSymbol, string> = { MCO2: 'moss-carbon-credit', ETH: 'ethereum' };

/** Each plan has its own host and its own key header; the public API takes no key. */
export type CoinGeckoPlan = 'public' | 'demo' | 'pro';
const KEY_HEADER: Record<CoinGeckoPlan, string | null> = { public: null, demo: 'x-cg-demo-api-key', pro: 'x-cg-pro-api-key' };

export interface RetryPolicy {
  attemptsMax: number;
  delayBaseMs: number;
  delayMaxMs: number;
}

export interface CoinGeckoOptions {
  baseUrl: string;
  plan: CoinGeckoPlan;
  apiKey?: string | undefined;
  timeoutMs: number;
  retry: RetryPolicy;
  log: Logger;
  /** Points of history asked for at most, per symbol (market_chart answers 5-minute points for 1 day, hourly up to 90). */
  historyDaysMax?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The source answered something we cannot use; the last good price stays. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const simplePriceSchema = z.record(z.string(), z.looseObject({ usd: z.unknown().optional(), last_updated_at: z.unknown().optional() }));
const marketChartSchema = z.object({ prices: z.array(z.tuple([z.number(), z.number()])).max(100_000) });
const ANSWER_BYTES_MAX = 5 * 1024 * 1024;

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const dateMs = Date.parse(header);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

/**
 * CoinGecko API v3: `/simple/price` for the latest prices and `/coins/{id}/market_chart` for history.
 * Every request has a time-out; 429, 5xx, time-outs and network errors are retried with exponential
 * backoff and full jitter, never sooner than `Retry-After`; every answer is checked before it is used.
 */
export class CoinGeckoSource implements PriceSource {
  readonly name = 'coingecko' as const;
  readonly #options: CoinGeckoOptions;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: CoinGeckoOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async latest(): Promise<Observation[]> {
    const ids = PRICE_SYMBOLS.map((symbol) => COINGECKO_IDS[symbol]).join(',');
    const answer = simplePriceSchema.safeParse(await this.#get(`/simple/price?ids=${ids}&vs_currencies=usd&include_last_updated_at=true`));
    if (!answer.success) throw new UpstreamError(`simple/price answer has an unexpected shape: ${z.prettifyError(answer.error)}`, false);
    const observations: Observation[] = [];
    for (const symbol of PRICE_SYMBOLS) {
      const entry = answer.data[COINGECKO_IDS[symbol]];
      if (!entry) {
        this.#options.log.warn({ symbol }, `CoinGecko answered without ${COINGECKO_IDS[symbol]}; price not updated`);
        continue;
      }
      const raw = { symbol, value: entry.usd as number, observedAtSeconds: entry.last_updated_at as number } satisfies RawObservation;
      const checked = checkObservation(raw, 'coingecko', this.#now());
      if (checked.ok) observations.push(checked.observation);
      else this.#options.log.warn({ symbol, reason: checked.reason }, 'refused a CoinGecko price');
    }
    return observations;
  }

  async history(symbol: PriceSymbol, from: Date, to: Date): Promise<Observation[]> {
    const days = Math.min(this.#options.historyDaysMax ?? 90, Math.max(1, Math.ceil((to.getTime() - from.getTime()) / 86_400_000)));
    const answer = marketChartSchema.safeParse(await this.#get(`/coins/${COINGECKO_IDS[symbol]}/market_chart?vs_currency=usd&days=${days}`));
    if (!answer.success) throw new UpstreamError(`market_chart answer has an unexpected shape: ${z.prettifyError(answer.error)}`, false);
    const observations: Observation[] = [];
    for (const [timeMs, value] of answer.data.prices) {
      if (timeMs < from.getTime() || timeMs > to.getTime()) continue;
      const checked = checkObservation({ symbol, value, observedAtSeconds: Math.floor(timeMs / 1000) }, 'coingecko', this.#now());
      if (checked.ok) observations.push(checked.observation);
    }
    return observations;
  }

  async #get(path: string): Promise<unknown> {
    const { retry, log } = this.#options;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#getOnce(path);
      } catch (error) {
        const upstream = error instanceof UpstreamError ? error : new UpstreamError(`CoinGecko request failed: ${(error as Error).message}`, true);
        if (!upstream.retriable || attempt >= retry.attemptsMax) throw upstream;
        const backoffMs = backoffDelayMs(attempt - 1, { baseMs: retry.delayBaseMs, maxMs: retry.delayMaxMs, jitter: 1 });
        const delayMs = Math.min(retry.delayMaxMs, Math.max(backoffMs, upstream.retryAfterMs ?? 0));
        log.warn({ attempt, delayMs: Math.round(delayMs), reason: upstream.message }, 'CoinGecko request failed; retrying');
        await this.#sleep(delayMs);
      }
    }
  }

  async #getOnce(path: string): Promise<unknown> {
    const { baseUrl, plan, apiKey, timeoutMs } = this.#options;
    const headers: Record<string, string> = { accept: 'application/json' };
    const keyHeader = KEY_HEADER[plan];
    if (keyHeader && apiKey) headers[keyHeader] = apiKey;
    let response: Response;
    try {
      response = await fetch(`${baseUrl.replace(/\/$/, '')}${path}`, { headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new UpstreamError(timedOut ? `CoinGecko did not answer within ${timeoutMs} ms` : `CoinGecko unreachable: ${(error as Error).message}`, true);
    }
    const text = await readLimited(response, ANSWER_BYTES_MAX);
    if (response.status === 429 || response.status >= 500) {
      throw new UpstreamError(`CoinGecko answered ${response.status}`, true, parseRetryAfter(response.headers.get('retry-after'), this.#now()));
    }
    if (!response.ok) throw new UpstreamError(`CoinGecko answered ${response.status}${response.status === 401 || response.status === 403 ? ' (check COINGECKO_API_KEY and COINGECKO_API_PLAN)' : ''}`, false);
    try {
      return JSON.parse(text);
    } catch {
      throw new UpstreamError(`CoinGecko answer is not JSON (starts with ${JSON.stringify(text.slice(0, 40))})`, false);
    }
  }
}

async function readLimited(response: Response, bytesMax: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > bytesMax) {
    await response.body?.cancel();
    throw new UpstreamError(`CoinGecko answer is larger than ${bytesMax} bytes`, false);
  }
  const text = await response.text();
  if (text.length > bytesMax) throw new UpstreamError(`CoinGecko answer is larger than ${bytesMax} bytes`, false);
  return text;
}
