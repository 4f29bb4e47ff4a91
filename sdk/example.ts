/**
 * `npm run example`: the typed SDK against a running `npm start`. Registers a fresh buyer, deposits USD from the
 * development faucet, buys carbon credits at a quote, watches a few MCO2 prices arrive, and prints what it sees.
 * GATEWAY_URL points it elsewhere (default http://127.0.0.1:4000/graphql); ADMIN_EMAIL and ADMIN_PASSWORD name
 * the administrator who stocks an empty market desk (default: the one `npm start` creates).
 */
import { randomUUID } from 'node:crypto';
import {
  createEcoCoinClient,
  DepositDocument,
  type EcoCoinClient,
  EcoCoinError,
  LoginDocument,
  MeDocument,
  PriceDocument,
  PriceUpdatedDocument,
  PurchaseCarbonCreditsDocument,
  QuoteCarbonPurchaseDocument,
  RegisterDocument,
  SupplyMarketDocument,
  TransactionsDocument,
} from './index.js';

const settings = {
  gatewayUrl: process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000/graphql',
  // The development administrator `npm start` creates and prints.
  admin: { email: process.env.ADMIN_EMAIL ?? 'admin@ecocoin.local', password: process.env.ADMIN_PASSWORD ?? 'ecocoin-admin' },
};
const DEPOSIT_USD = '100.00';
const SPEND_USD = '25.00';
const MARKET_SUPPLY_TONNES = '100';
const PRICE_TICKS = 3;
/** Bounds the wait for price ticks (the simulation ticks every 2 s when the price moves). */
const PRICE_WAIT_MS = 30_000;

const say = (line: string) => process.stdout.write(`${line}\n`);

async function buyCarbon(buyer: EcoCoinClient) {
  const { quoteCarbonPurchase: quote } = await buyer.request(QuoteCarbonPurchaseDocument, { input: { usd: SPEND_USD } });
  say(`Quote ${quote.id}: ${quote.tonnes} t at ${quote.pricePerTonne} USD/t = ${quote.totalUsd} USD (${quote.priceSource}), valid until ${quote.expiresAt}`);
  const { purchaseCarbonCredits } = await buyer.request(PurchaseCarbonCreditsDocument, { input: { quoteId: quote.id }, idempotencyKey: randomUUID() });
  return purchaseCarbonCredits;
}

/** The market desk sells only what an administrator put on it; a fresh `npm start` has none. */
async function stockMarket() {
  const admin = createEcoCoinClient({ url: settings.gatewayUrl });
  const { login } = await admin.request(LoginDocument, settings.admin);
  admin.setToken(login.token);
  await admin.request(SupplyMarketDocument, { input: { tonnes: MARKET_SUPPLY_TONNES }, idempotencyKey: randomUUID() });
  say(`The market desk was empty: ${settings.admin.email} stocked it with ${MARKET_SUPPLY_TONNES} t.`);
}

async function watchPrices(buyer: EcoCoinClient) {
  const ticks = buyer.subscribe(PriceUpdatedDocument, { symbol: 'MCO2' });
  const deadline = setTimeout(() => void ticks.return?.(), PRICE_WAIT_MS);
  let seen = 0;
  for await (const { data } of ticks) {
    say(`  MCO2 ${data.priceUpdated.value} ${data.priceUpdated.vs} (${data.priceUpdated.source}, observed ${data.priceUpdated.observedAt})`);
    if (++seen === PRICE_TICKS) break;
  }
  clearTimeout(deadline);
  if (seen < PRICE_TICKS) throw new Error(`Only ${seen} of ${PRICE_TICKS} price ticks arrived within ${PRICE_WAIT_MS / 1000} s`);
}

async function main() {
  const buyer = createEcoCoinClient({ url: settings.gatewayUrl });
  const email = `buyer-${randomUUID().slice(0, 8)}@example.com`;
  const { register } = await buyer.request(RegisterDocument, { input: { email, password: 'correct horse battery', displayName: 'Example Buyer', role: 'BUYER' } });
  buyer.setToken(register.token);
  say(`Registered ${register.user.displayName} <${email}> (${register.user.id}); token valid until ${register.expiresAt}`);

  const { deposit } = await buyer.request(DepositDocument, { input: { userId: register.user.id, currency: 'USD', amount: DEPOSIT_USD }, idempotencyKey: randomUUID() });
  say(`Faucet deposit of ${deposit.amount} ${deposit.currency}: ${deposit.status}`);

  const { price } = await buyer.request(PriceDocument, { symbol: 'MCO2' });
  say(`MCO2 is at ${price.value} ${price.vs} (${price.source}${price.stale ? ', stale' : ''})`);
  const purchase = await buyCarbon(buyer).catch(async (error: unknown) => {
    // The buyer has the dollars, so a refusal for funds is the desk's: stock it and buy at a new quote.
    if (!(error instanceof EcoCoinError && error.code === 'INSUFFICIENT_FUNDS')) throw error;
    await stockMarket();
    return buyCarbon(buyer);
  });
  say(`Bought ${purchase.purchase?.tonnes} t for ${purchase.purchase?.totalUsd} USD: ${purchase.status}`);

  say(`Watching ${PRICE_TICKS} MCO2 prices:`);
  await watchPrices(buyer);

  const { me } = await buyer.request(MeDocument);
  say(`Wallets: ${me.wallets.map((wallet) => `${wallet.balance} ${wallet.currency}`).join(', ')}`);
  const { transactions } = await buyer.request(TransactionsDocument, { first: 10 });
  say('History, newest first:');
  for (const { node } of transactions.edges) say(`  ${node.createdAt} ${node.type.padEnd(8)} ${node.status.padEnd(9)} ${node.amount} ${node.currency}`);
  await buyer.dispose();
}

main().catch((error: unknown) => {
  const detail = error instanceof EcoCoinError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  process.stderr.write(`example failed: ${detail}\n(is \`npm start\` running at ${settings.gatewayUrl}?)\n`);
  process.exitCode = 1;
});
