import type { PriceRow } from '../db/schema.js';

/** A stored row (queries) or the data of a `price.updated` event (subscriptions): the same fields, but a time as text in events. */
export type PriceValue = Pick<PriceRow, 'symbol' | 'value' | 'source'> & { observedAt: Date | string; vsCurrency?: string; vs?: string };
