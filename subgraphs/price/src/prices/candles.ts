import { sql } from 'drizzle-orm';
import { trimDecimal } from '../../../../lib/decimal.js';
import { badInput } from '../../../../lib/errors.js';
import type { PriceSymbol, QuoteCurrency } from '../sources/source.js';
import type { PriceDb } from './store.js';

export const CANDLE_INTERVAL_MS = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 } as const;
export type CandleInterval = keyof typeof CANDLE_INTERVAL_MS;
/** The most candles one call returns; a wider range needs a coarser interval. */
export const CANDLES_MAX = 1000;

export interface Candle {
  start: Date;
  end: Date;
  open: string;
  high: string;
  low: string;
  close: string;
  samples: number;
}

/**
 * Candles over [from, to), computed in SQL: buckets aligned on `from` (date_bin), open and close the first
 * and last observation of each bucket by time, high and low their extremes. Empty buckets are left out.
 */
export async function priceCandles(db: PriceDb, query: { symbol: PriceSymbol; vs: QuoteCurrency; from: Date; to: Date; interval: CandleInterval }): Promise<Candle[]> {
  const { symbol, vs, from, to, interval } = query;
  if (from >= to) throw badInput('`from` must be before `to`', { field: 'from' });
  const intervalMs = CANDLE_INTERVAL_MS[interval];
  const buckets = Math.ceil((to.getTime() - from.getTime()) / intervalMs);
  if (buckets > CANDLES_MAX) throw badInput(`That range holds ${buckets} ${interval.toLowerCase()} candles; at most ${CANDLES_MAX} per call: narrow it or use a longer interval`, { field: 'interval' });
  const step = `${intervalMs / 1000} seconds`;
  const rows = await db.execute<{ bucket: Date; open: string; high: string; low: string; close: string; samples: number }>(sql`
    select date_bin(${step}::interval, observed_at, ${from.toISOString()}::timestamptz) as bucket,
           (array_agg(value order by observed_at asc, id asc))[1]::text as open,
           max(value)::text as high,
           min(value)::text as low,
           (array_agg(value order by observed_at desc, id desc))[1]::text as close,
           count(*)::int as samples
    from prices
    where symbol = ${symbol} and vs_currency = ${vs}
      and observed_at >= ${from.toISOString()}::timestamptz and observed_at < ${to.toISOString()}::timestamptz
    group by bucket
    order by bucket`);
  return rows.map((row) => {
    const start = new Date(row.bucket);
    return { start, end: new Date(start.getTime() + intervalMs), open: trimDecimal(row.open), high: trimDecimal(row.high), low: trimDecimal(row.low), close: trimDecimal(row.close), samples: row.samples };
  });
}
