/**
 * The test suite is a script on one address, which is what the rate limits are there to stop: tests raise them
 * here, and a test of a limit sets its own low value. The benchmarks, which are load on purpose, use them too.
 */
export const TEST_RATE_LIMITS = {
  ANONYMOUS_REQUESTS_PER_ADDRESS_PER_MINUTE: '100000',
  MONEY_MUTATIONS_PER_USER_PER_MINUTE: '100000',
  SIGN_IN_FAILURES_PER_ADDRESS_MAX: '10000',
  WEBSOCKET_CONNECTIONS_PER_USER_PER_MINUTE: '100000',
  WEBSOCKET_CONNECTIONS_PER_ADDRESS_PER_MINUTE: '100000',
  WEBSOCKET_OPEN_CONNECTIONS_PER_USER_MAX: '10000',
};

