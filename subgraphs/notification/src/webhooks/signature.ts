import { createHmac, randomBytes } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-ecocoin-timestamp';
export const SIGNATURE_HEADER = 'x-ecocoin-signature';
export const DELIVERY_HEADER = 'x-ecocoin-delivery';
const SECRET_BYTES = 32;

/** A new signing secret: 256 random bits, printable. */
export const newWebhookSecret = () => `whsec_${randomBytes(SECRET_BYTES).toString('base64url')}`;

/**
 * `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`: the timestamp (Unix seconds) is signed with the body, so
 * a receiver that rejects old timestamps cannot be replayed an old delivery.
 */
export function signatureOf(secret: string, timestampSeconds: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`;
}
