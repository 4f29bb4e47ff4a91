import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gatewayConfigSchema } from '../../gateway/src/config.js';
import { ConfigError, parseConfig } from '../config.js';
import { secretWeakness } from '../secret-strength.js';
import { subgraphConfigSchema } from '../service-config.js';

const userSchema = subgraphConfigSchema('user', 4001);
/** As `openssl rand -base64 32` makes them. */
const GOOD_SECRETS = { JWT_SECRET: 'Caa++U4qXnoX8Io8Y4lXAPeZLi5h4n0hzMQvlKuQ6qI=', GATEWAY_SECRET: 'ewF1pwQn37or0ogHKYQ0WHpM3EqMTMUeSxGd0rNvpdg=' };

describe('configuration from the environment', () => {
  it('serves `npm start` with defaults', () => {
    const config = parseConfig(userSchema, {});
    expect(config.PORT).toBe(4001);
    expect(config.DATABASE_URL).toMatch(/\/user_service_db$/);
    expect(config.KAFKA_BROKERS).toBeUndefined();
    expect(config.JWT_SECRET.length).toBeGreaterThanOrEqual(32);
  });

  it('names every wrong variable in one message', () => {
    const attempt = () => parseConfig(userSchema, { PORT: 'eighty', DATABASE_URL: 'mysql://x', KAFKA_BROKERS: 'no-port', JWT_SECRET: 'short' });
    expect(attempt).toThrow(ConfigError);
    const message = (() => {
      try {
        attempt();
      } catch (error) {
        return (error as Error).message;
      }
    })();
    for (const variable of ['PORT', 'DATABASE_URL', 'KAFKA_BROKERS', 'JWT_SECRET']) expect(message).toContain(`${variable}:`);
  });

  it('refuses to start production without its own secrets', () => {
    expect(() => parseConfig(gatewayConfigSchema, { NODE_ENV: 'production' })).toThrow(/JWT_SECRET: is required when NODE_ENV=production/);
    expect(() => parseConfig(gatewayConfigSchema, { NODE_ENV: 'production', JWT_SECRET: GOOD_SECRETS.JWT_SECRET })).toThrow(/GATEWAY_SECRET/);
    const config = parseConfig(gatewayConfigSchema, { NODE_ENV: 'production', ...GOOD_SECRETS });
    expect(config.JWT_SECRET).toBe(GOOD_SECRETS.JWT_SECRET);
  });

  it('parses a broker list', () => {
    expect(parseConfig(userSchema, { KAFKA_BROKERS: 'a:9092, b:9093' }).KAFKA_BROKERS).toEqual(['a:9092', 'b:9093']);
  });

  it('stops a service started with a wrong variable, naming it, with exit code 1', async () => {
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'subgraphs/user/src/index.ts'], { env: { ...process.env, PORT: '99999' }, encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration:');
    expect(result.stderr).toContain('PORT:');
    expect(result.stderr).not.toContain('    at ');
  });
});

describe('empty variables', () => {
  it('treats an empty variable as unset', () => {
    expect(parseConfig(userSchema, { KAFKA_BROKERS: '', PORT: '' }).PORT).toBe(4001);
  });
});

describe('secrets in production', () => {
  const production = (secrets: Record<string, string>) => () => parseConfig(gatewayConfigSchema, { NODE_ENV: 'production', ...GOOD_SECRETS, ...secrets });
  const messageOf = (attempt: () => unknown) => {
    try {
      attempt();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('expected a refusal');
  };

  it('refuses the development defaults even when set explicitly, naming the variable', () => {
    const jwtDefault = parseConfig(userSchema, {}).JWT_SECRET;
    const gatewayDefault = parseConfig(userSchema, {}).GATEWAY_SECRET;
    expect(production({ JWT_SECRET: jwtDefault })).toThrow(/JWT_SECRET: must not be a development default/);
    expect(production({ GATEWAY_SECRET: gatewayDefault })).toThrow(/GATEWAY_SECRET: must not be a development default/);
    expect(production({ GATEWAY_SECRET: jwtDefault })).toThrow(/GATEWAY_SECRET: must not be a development default/);
  });

  it('refuses the same secret for JWT_SECRET and GATEWAY_SECRET', () => {
    expect(production({ GATEWAY_SECRET: GOOD_SECRETS.JWT_SECRET })).toThrow(/GATEWAY_SECRET: must differ from JWT_SECRET/);
  });

  it('refuses secrets of low variety, without echoing them', () => {
    const weak = ['a'.repeat(32), 'ab'.repeat(16), 'abcdefgh'.repeat(4), 'password1password1password1passw', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab', 'abcabcabcabcabcabcabcabcabcabcxyz'];
    for (const secret of weak) {
      const message = messageOf(production({ JWT_SECRET: secret }));
      expect(message, secret).toMatch(/JWT_SECRET: (is a short pattern repeated|has too little variety)/);
      expect(message, secret).toContain('openssl rand');
      expect(message, secret).not.toContain(secret);
    }
  });

  it('accepts random secrets of 32 characters and more, hex or base64', () => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const secrets = [randomBytes(16).toString('hex'), randomBytes(24).toString('base64'), randomBytes(32).toString('hex'), randomBytes(32).toString('base64')];
      for (const secret of secrets) expect(secretWeakness(secret), secret).toBeNull();
    }
    expect(production({ JWT_SECRET: randomBytes(16).toString('hex') })().JWT_SECRET).toHaveLength(32);
  });

  it('leaves development and test alone', () => {
    expect(parseConfig(gatewayConfigSchema, { NODE_ENV: 'test', JWT_SECRET: 'a'.repeat(32), GATEWAY_SECRET: 'a'.repeat(32) }).JWT_SECRET).toBe('a'.repeat(32));
  });
});
