import { z } from 'zod';
import { timestamp } from './fields.js';

export const NOTIFICATION_KINDS = ['FUNDS_RECEIVED', 'TRANSACTION_COMPLETED', 'TRANSACTION_FAILED', 'WALLET_EMPTY', 'PRICE_ALERT', 'BLOCKCHAIN'] as const;

/** `notification.created`, keyed by the user id: a notification as the API shows it (and a webhook receives it). */
export const notificationCreatedV1 = z.object({
  id: z.uuid(),
  userId: z.uuid(),
  kind: z.enum(NOTIFICATION_KINDS),
  title: z.string().min(1),
  body: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
  transactionId: z.uuid().nullable(),
  createdAt: timestamp,
});
export type NotificationCreatedV1 = z.infer<typeof notificationCreatedV1>;
