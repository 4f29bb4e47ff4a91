/**
 * Checked by `npm run typecheck`, never run: the SDK takes its variables' and results' types from the document,
 * so a call that does not fit the schema does not compile. Each `@ts-expect-error` fails the type-check if the
 * line below it ever compiles.
 */
import { DepositDocument, type EcoCoinClient, MeDocument, PriceDocument, PriceUpdatedDocument } from '../index.js';

export async function typedDocuments(client: EcoCoinClient): Promise<string[]> {
  // @ts-expect-error: an Amount is a decimal string, never a float
  await client.request(DepositDocument, { input: { userId: 'id', currency: 'USD', amount: 12.5 }, idempotencyKey: 'key' });
  // @ts-expect-error: PriceSymbol has no BTC
  await client.request(PriceDocument, { symbol: 'BTC' });
  // @ts-expect-error: PriceDocument needs its variables
  await client.request(PriceDocument);
  for await (const { data } of client.subscribe(PriceUpdatedDocument, { symbol: 'ETH' })) {
    // @ts-expect-error: the subscription selects no `owner`
    void data.priceUpdated.owner;
  }
  const { me } = await client.request(MeDocument);
  return me.wallets.map((wallet) => wallet.balance);
}
