import { TEST_RATE_LIMITS } from '../../test/support/rate-limits.js';
import { SUBSCRIBERS_MAX } from './settings.js';

/** Room for the largest crowd and the one before it still closing, on one address and (with BENCH_SUBSCRIBER_AUTH=user) one user. */
const OPEN_CONNECTIONS_MAX = String(2 * SUBSCRIBERS_MAX);
/** A crowd of 10,000 connects within a few seconds, several crowds a minute. */
const NEW_CONNECTIONS_PER_MINUTE = '1000000';

/**
 * The gateway's connection limits for the run, in both shapes (README, "Rate limits"): a crowd is 10,000 sockets
 * from one address, which is what the limits are there to stop. WEBSOCKET_OPEN_ANONYMOUS_CONNECTIONS_PER_ADDRESS_MAX
 * is passed whether or not the gateway knows it yet: its configuration schema is a plain zod object, which drops
 * keys it does not define, so an older gateway ignores it. WEBSOCKET_SEND_BUFFER_BYTES_MAX keeps its default: how
 * far behind a socket may fall is part of what is measured.
 */
export const BENCH_GATEWAY_LIMITS: Record<string, string> = {
  ...TEST_RATE_LIMITS,
  WEBSOCKET_OPEN_CONNECTIONS_PER_USER_MAX: OPEN_CONNECTIONS_MAX,
  WEBSOCKET_OPEN_ANONYMOUS_CONNECTIONS_PER_ADDRESS_MAX: OPEN_CONNECTIONS_MAX,
  WEBSOCKET_CONNECTIONS_PER_USER_PER_MINUTE: NEW_CONNECTIONS_PER_MINUTE,
  WEBSOCKET_CONNECTIONS_PER_ADDRESS_PER_MINUTE: NEW_CONNECTIONS_PER_MINUTE,
};
