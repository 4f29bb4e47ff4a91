import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config.js';
import { configSchema } from '../src/server.js';

const PRODUCTION_SECRETS = { NODE_ENV: 'production', JWT_SECRET: 'Caa++U4qXnoX8Io8Y4lXAPeZLi5h4n0hzMQvlKuQ6qI=', GATEWAY_SECRET: 'ewF1pwQn37or0ogHKYQ0WHpM3EqMTMUeSxGd0rNvpdg=' };

describe('notification service configuration', () => {
  it('defaults to port 4005, its own database and five webhook attempts', () => {
    const config = parseConfig(configSchema, {});
    expect(config.PORT).toBe(4005);
    expect(config.DATABASE_URL).toMatch(/\/notification_service_db$/);
    expect(config.WEBHOOK_ATTEMPTS_MAX).toBe(5);
  });

  it('lets webhooks reach private networks outside production only, unless set', () => {
    expect(parseConfig(configSchema, {}).WEBHOOK_ALLOW_PRIVATE_NETWORK).toBe(true);
    expect(parseConfig(configSchema, PRODUCTION_SECRETS).WEBHOOK_ALLOW_PRIVATE_NETWORK).toBe(false);
    expect(parseConfig(configSchema, { ...PRODUCTION_SECRETS, WEBHOOK_ALLOW_PRIVATE_NETWORK: 'true' }).WEBHOOK_ALLOW_PRIVATE_NETWORK).toBe(true);
  });

  it('names the variable that is wrong', () => {
    expect(() => parseConfig(configSchema, { WEBHOOK_ATTEMPTS_MAX: '50' })).toThrow(/WEBHOOK_ATTEMPTS_MAX: must be at most 20/);
    expect(() => parseConfig(configSchema, { WEBHOOK_TIMEOUT_MS: 'soon' })).toThrow(/WEBHOOK_TIMEOUT_MS: must be a whole number/);
    expect(() => parseConfig(configSchema, { WEBHOOK_RETRY_DELAY_BASE_MS: '5000', WEBHOOK_RETRY_DELAY_MAX_MS: '1000' })).toThrow(
      /WEBHOOK_RETRY_DELAY_MAX_MS: must be at least WEBHOOK_RETRY_DELAY_BASE_MS/,
    );
    expect(() => parseConfig(configSchema, { WEBHOOK_ALLOW_PRIVATE_NETWORK: 'yes' })).toThrow(/WEBHOOK_ALLOW_PRIVATE_NETWORK: must be true or false/);
  });
});
