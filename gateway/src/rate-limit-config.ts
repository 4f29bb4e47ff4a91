import { z } from 'zod';
import { positiveInt } from '../../lib/config.js';

const wholeNumberFrom0 = (fallback: number, max: number) =>
  z.coerce.number({ message: 'must be a whole number' }).int('must be a whole number').min(0).max(max, `must be at most ${max}`).default(fallback);

/**
 * The gateway's own database and its rate limits (README, "Rate limits"). The defaults leave a person at a
 * browser plenty of room and stop a script: nobody types five wrong passwords for one account in a row, sends
 * five anonymous requests a second for a minute, or moves money thirty times a minute by hand.
 */
export const rateLimitConfigShape = {
  /** Where the counters live, shared by every gateway instance. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, message: 'must be a postgres:// URL' }).default('postgres://ecocoin:ecocoin@127.0.0.1:54320/gateway_db'),
  /** Past this a counter is kept in this process's memory instead (a database outage neither opens nor shuts the door). */
  RATE_LIMIT_STORE_TIMEOUT_MS: positiveInt(500).pipe(z.number().max(10_000, 'must be at most 10000')),
  /**
   * How many proxies in front of the gateway append to X-Forwarded-For. 0 (the default) believes no header: the
   * client is the socket's peer. Behind one load balancer, 1: the client is the last address it appended.
   */
  TRUSTED_PROXY_HOPS: wholeNumberFrom0(0, 10),
  /** Failed sign-ins in a row for one account, then a lock-out; a successful sign-in starts the count again. */
  SIGN_IN_FAILURES_PER_ACCOUNT_MAX: positiveInt(5),
  /** Failed sign-ins from one client address (a whole office behind one NAT counts together), then a lock-out. */
  SIGN_IN_FAILURES_PER_ADDRESS_MAX: positiveInt(50),
  /** Failures older than this are forgotten. */
  SIGN_IN_FAILURE_WINDOW_SECONDS: positiveInt(3600),
  /** The first lock-out; each further one within SIGN_IN_LOCKOUT_MEMORY_SECONDS lasts twice the one before. */
  SIGN_IN_LOCKOUT_SECONDS: positiveInt(60),
  SIGN_IN_LOCKOUT_MAX_SECONDS: positiveInt(24 * 3600),
  /** How long earlier lock-outs count towards the doubling. */
  SIGN_IN_LOCKOUT_MEMORY_SECONDS: positiveInt(24 * 3600),
  /** Requests without a token from one client address (register, login, public market data, /token). */
  ANONYMOUS_REQUESTS_PER_ADDRESS_PER_MINUTE: positiveInt(300),
  /** Mutations that move money or tokens (deposit, transfer, pay, purchase, retire, withdraw, stake…) per user. */
  MONEY_MUTATIONS_PER_USER_PER_MINUTE: positiveInt(30),
  /** New WebSocket connections per user and per client address, shared by every gateway instance. */
  WEBSOCKET_CONNECTIONS_PER_USER_PER_MINUTE: positiveInt(30),
  WEBSOCKET_CONNECTIONS_PER_ADDRESS_PER_MINUTE: positiveInt(120),
  /** WebSocket connections one user holds open at once on one gateway instance (a connection lives on one instance). */
  WEBSOCKET_OPEN_CONNECTIONS_PER_USER_MAX: positiveInt(20),
  /**
   * WebSocket connections without a token (public market data, e.g. a landing page's live ticker) one client address
   * holds open at once on one gateway instance. An office behind one NAT shares it, hence more than per user.
   */
  WEBSOCKET_OPEN_ANONYMOUS_CONNECTIONS_PER_ADDRESS_MAX: positiveInt(100),
} as const;
