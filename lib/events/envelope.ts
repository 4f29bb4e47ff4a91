import { z } from 'zod';

/** The topics of DESIGN.md; a typo is a compile error, and `auto.create.topics.enable=false` makes it a runtime one too. */
export const TOPICS = ['transaction.status', 'wallet.updated', 'price.updated', 'blockchain.event', 'notification.created'] as const;
export type Topic = (typeof TOPICS)[number];

const KEY_LENGTH_MAX = 200;

export const envelopeSchema = z.object({
  id: z.uuid(),
  type: z.enum(TOPICS),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  key: z.string().min(1).max(KEY_LENGTH_MAX),
  data: z.record(z.string(), z.unknown()),
});

/** An envelope as it travels: its `data` is read through the contract of its type and version (./contracts). */
export type Envelope = z.infer<typeof envelopeSchema>;

export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

/** Parses a message body from the wire; anything that is not a valid envelope is a poison message, never a crash. */
export function parseEnvelope(raw: string | Buffer | null): Envelope {
  if (raw === null) throw new PoisonMessageError('empty message');
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch {
    throw new PoisonMessageError('message is not JSON');
  }
  const result = envelopeSchema.safeParse(json);
  if (!result.success) throw new PoisonMessageError(`message is not an event envelope: ${z.prettifyError(result.error)}`);
  return result.data;
}
