import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { internalCall } from '../internal-contract.js';

/**
 * The price subgraph's internal quote endpoint, shared by the price subgraph that signs quotes and the
 * services that rely on them (purchases at market price). A quote is the latest non-stale price with an
 * expiry, signed with the deployment's internal secret so whoever holds it can check it is genuine and unaltered.
 */
export const QUOTE_PATH = '/internal/quotes';

export const quoteRequestSchema = z.strictObject({ symbol: z.enum(['MCO2', 'ETH']), vs: z.literal('USD').default('USD') });
export type QuoteRequest = z.input<typeof quoteRequestSchema>;

export const quoteSchema = z.object({
  symbol: z.enum(['MCO2', 'ETH']),
  vs: z.literal('USD'),
  /** Decimal string, up to 18 decimals. */
  value: z.string().regex(/^(0|[1-9]\d*)(\.\d{1,18})?$/),
  source: z.enum(['coingecko', 'simulated']),
  observedAt: z.iso.datetime(),
  quotedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
});
export type Quote = z.infer<typeof quoteSchema>;
export const signedQuoteSchema = quoteSchema.extend({ signature: z.string().min(1) });
export type SignedQuote = z.infer<typeof signedQuoteSchema>;

export const quoteCall = internalCall(QUOTE_PATH, quoteRequestSchema, signedQuoteSchema);

const ALGORITHM = 'HS256';
const AUDIENCE = 'ecocoin-quote';
const ISSUER = 'ecocoin-price';

export async function signQuote(quote: Quote, secret: string): Promise<SignedQuote> {
  const signature = await new SignJWT({ quote })
    .setProtectedHeader({ alg: ALGORITHM })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(new Date(quote.quotedAt))
    .setExpirationTime(new Date(quote.expiresAt))
    .sign(new TextEncoder().encode(secret));
  return { ...quote, signature };
}

/** The quote inside a signature, if the signature is ours and the quote has not expired; QUOTE_EXPIRED otherwise. */
export async function verifyQuote(signature: string, secret: string): Promise<Quote> {
  try {
    const { payload } = await jwtVerify(signature, new TextEncoder().encode(secret), { algorithms: [ALGORITHM], issuer: ISSUER, audience: AUDIENCE });
    return quoteSchema.parse(payload.quote);
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new AppError('QUOTE_EXPIRED', 'The price quote has expired; ask for a new one');
    throw new AppError('BAD_USER_INPUT', 'The price quote is not valid');
  }
}
