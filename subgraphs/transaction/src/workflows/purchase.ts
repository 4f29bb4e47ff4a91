import { eq } from 'drizzle-orm';
import { signedIn } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { decimalToScaled, PRICE_SCALE, scaledToDecimal, trimDecimal } from '../../../../lib/decimal.js';
import { AppError, badInput, notFound } from '../../../../lib/errors.js';
import { isUuid } from '../../../../lib/ids.js';
import { marketStockCall } from '../../../../lib/ledger/market-stock.js';
import { formatAmount, parseAmount, SCALE } from '../../../../lib/money.js';
import { quoteCall, type SignedQuote, verifyQuote } from '../../../../lib/pricing/quote.js';
import { type QuoteRow, quotes, type TransactionRow } from '../db/schema.js';
import type { TransactionDeps } from '../deps.js';
import { replayOf, resultOf, runTransaction } from './engine.js';
import { checkIdempotencyKey } from './input-checks.js';
import { present, type Workflow } from './workflow.js';

/** Carbon credits bought from the market desk with USD, at a quote or at the market price. */
export const purchaseWorkflow: Workflow = {
  kind: 'purchase',
  type: 'PURCHASE',
  entries: (purchase) => {
    const buyer = { userId: present(purchase.fromUserId, 'fromUserId') };
    const usdMinor = BigInt(present(purchase.usdAmount, 'usdAmount'));
    const carbonMinor = BigInt(present(purchase.carbonAmount, 'carbonAmount'));
    return [
      { account: buyer, currency: 'USD', amountMinor: String(-usdMinor) },
      { account: { system: 'market' }, currency: 'USD', amountMinor: String(usdMinor) },
      { account: { system: 'market' }, currency: 'CARBON', amountMinor: String(-carbonMinor) },
      { account: buyer, currency: 'CARBON', amountMinor: String(carbonMinor) },
    ];
  },
  mutations: (deps) => ({
    quoteCarbonPurchase: (_parent, { input }, { identity }) => quoteCarbonPurchase(deps, signedIn(identity), input),
    purchaseCarbonCredits: (_parent, { input, idempotencyKey }, { identity }) => purchaseCarbonCredits(deps, signedIn(identity), input, idempotencyKey),
  }),
  eventData: () => ({ type: 'PURCHASE' }),
};

/** 10^(PRICE_SCALE + CARBON scale − USD scale): turns tonnes × price into cents. */
const CENTS_DIVISOR = 10n ** BigInt(PRICE_SCALE + SCALE.CARBON - SCALE.USD);

const ceilDiv = (numerator: bigint, denominator: bigint) => (numerator + denominator - 1n) / denominator;

/**
 * What `carbonMinor` costs at `pricePerTonneScaled`, in cents, rounded up: the platform never sells below
 * the price, and the buyer pays less than one cent above it.
 */
export const usdCostOf = (carbonMinor: bigint, pricePerTonneScaled: bigint) => ceilDiv(carbonMinor * pricePerTonneScaled, CENTS_DIVISOR);
/** How many CARBON minor units `usdMinor` buys, rounded down: less than one minor unit short of the exact amount. */
export const carbonFor = (usdMinor: bigint, pricePerTonneScaled: bigint) => (usdMinor * CENTS_DIVISOR) / pricePerTonneScaled;

async function marketQuote(deps: TransactionDeps): Promise<SignedQuote & { pricePerTonneScaled: bigint }> {
  const signed = await deps.prices.call(quoteCall, { symbol: 'MCO2', vs: 'USD' });
  // The price travels between our own services, but money moves at it: check it is the price service's, unaltered.
  const quote = await verifyQuote(signed.signature, deps.internalSecret);
  return { ...signed, ...quote, pricePerTonneScaled: decimalToScaled(quote.value) };
}

/**
 * A quote never offers more than the market desk holds: asked for more, it is refused at once with
 * INSUFFICIENT_FUNDS, saying how much there is (the market's stock is the offer on the table, not a user's balance). A purchase can still find
 * the stock gone by the time it posts; the ledger refuses that one.
 */
async function checkMarketStock(deps: TransactionDeps, carbonMinor: bigint, field: 'tonnes' | 'usd'): Promise<void> {
  const stock = BigInt((await deps.users.call(marketStockCall, {})).carbonMinor);
  if (carbonMinor > stock) {
    // The same code and words as the ledger's refusal of a purchase beyond the stock: one condition, one answer.
    throw new AppError('INSUFFICIENT_FUNDS', `The market has only ${trimDecimal(formatAmount(stock, 'CARBON'))} CARBON available`, { currency: 'CARBON', field });
  }
}

/** A price for tonnes, or for a USD budget, stored for the caller until it expires. */
export async function quoteCarbonPurchase(deps: TransactionDeps, identity: Identity, input: { tonnes?: string | null; usd?: string | null }): Promise<QuoteRow> {
  if ((input.tonnes == null) === (input.usd == null)) throw badInput('Give exactly one of tonnes or usd', { field: input.tonnes == null ? 'tonnes' : 'usd' });
  const requestedCarbon = input.tonnes != null ? parseAmount(input.tonnes, 'CARBON', 'tonnes') : null;
  const requestedUsd = input.usd != null ? parseAmount(input.usd, 'USD', 'usd') : null;
  const quote = await marketQuote(deps);
  const carbonMinor = requestedCarbon ?? carbonFor(requestedUsd as bigint, quote.pricePerTonneScaled);
  if (carbonMinor === 0n) throw badInput('That budget buys nothing at the current price', { field: 'usd' });
  await checkMarketStock(deps, carbonMinor, input.tonnes != null ? 'tonnes' : 'usd');
  const usdMinor = requestedUsd ?? usdCostOf(carbonMinor, quote.pricePerTonneScaled);
  const expiresAtMs = Math.min(Date.parse(quote.expiresAt), Date.now() + deps.quoteTtlSeconds * 1000);
  const [stored] = await deps.db
    .insert(quotes)
    .values({
      userId: identity.userId,
      carbonAmount: String(carbonMinor),
      usdAmount: String(usdMinor),
      pricePerTonne: quote.value,
      priceSource: quote.source,
      expiresAt: new Date(expiresAtMs),
    })
    .returning();
  return stored as QuoteRow;
}

/** Buys at a quote (before it expires), or at the market price if it is at most `maxPricePerTonne`. */
export async function purchaseCarbonCredits(
  deps: TransactionDeps,
  identity: Identity,
  input: { quoteId?: string | null; tonnes?: string | null; maxPricePerTonne?: string | null },
  idempotencyKey: string,
): Promise<TransactionRow> {
  checkIdempotencyKey(idempotencyKey);
  const request =
    input.quoteId != null ? { quoteId: input.quoteId } : { tonnes: input.tonnes ? String(parseAmount(input.tonnes, 'CARBON', 'tonnes')) : null, maxPricePerTonne: input.maxPricePerTonne };
  const replay = await replayOf(deps, purchaseWorkflow, identity.userId, idempotencyKey, request);
  if (replay) return resultOf(replay);
  const priced = input.quoteId != null ? await fromQuote(deps, identity, input.quoteId) : await atMarket(deps, input);
  const transaction = {
    initiatorId: identity.userId,
    idempotencyKey,
    fromUserId: identity.userId,
    currency: 'CARBON' as const,
    amount: priced.carbonMinor,
    quoteId: priced.quoteId,
    pricePerTonne: priced.pricePerTonne,
    priceSource: priced.priceSource,
    usdAmount: String(priced.usdMinor),
    carbonAmount: String(priced.carbonMinor),
    request,
  };
  try {
    return resultOf(await runTransaction(deps, purchaseWorkflow, transaction));
  } catch (error) {
    if ((error as { cause?: { constraint_name?: string } }).cause?.constraint_name === 'transactions_quote_idx') {
      throw badInput('This quote was already used for a purchase; ask for a new quote', { field: 'quoteId' });
    }
    throw error;
  }
}

interface Priced {
  quoteId: string | null;
  carbonMinor: bigint;
  usdMinor: bigint;
  pricePerTonne: string;
  priceSource: string;
}

async function fromQuote(deps: TransactionDeps, identity: Identity, quoteId: string): Promise<Priced> {
  // Someone else's quote is as unknown to the caller as one that does not exist.
  const [quote] = isUuid(quoteId) ? await deps.db.select().from(quotes).where(eq(quotes.id, quoteId)) : [];
  if (!quote || quote.userId !== identity.userId) throw notFound('No such quote');
  if (quote.expiresAt.getTime() <= Date.now()) throw new AppError('QUOTE_EXPIRED', 'This quote has expired; ask for a new one');
  return { quoteId: quote.id, carbonMinor: BigInt(quote.carbonAmount), usdMinor: BigInt(quote.usdAmount), pricePerTonne: quote.pricePerTonne, priceSource: quote.priceSource };
}

async function atMarket(deps: TransactionDeps, input: { tonnes?: string | null; maxPricePerTonne?: string | null }): Promise<Priced> {
  if (input.tonnes == null || input.maxPricePerTonne == null) throw badInput('Give a quoteId, or tonnes with maxPricePerTonne', { field: 'quoteId' });
  const carbonMinor = parseAmount(input.tonnes, 'CARBON', 'tonnes');
  let maxScaled: bigint;
  try {
    maxScaled = decimalToScaled(input.maxPricePerTonne);
  } catch {
    throw badInput('maxPricePerTonne must be a decimal like "0.95"', { field: 'maxPricePerTonne' });
  }
  if (maxScaled <= 0n) throw badInput('maxPricePerTonne must be greater than zero', { field: 'maxPricePerTonne' });
  const quote = await marketQuote(deps);
  if (quote.pricePerTonneScaled > maxScaled) {
    throw new AppError('QUOTE_EXPIRED', `The price is now ${quote.value} USD per tonne, above your maximum of ${scaledToDecimal(maxScaled)}`, { reason: 'PRICE_ABOVE_LIMIT' });
  }
  return { quoteId: null, carbonMinor, usdMinor: usdCostOf(carbonMinor, quote.pricePerTonneScaled), pricePerTonne: quote.value, priceSource: quote.source };
}
