import { describe, expect, it } from 'vitest';
import { gatewayConfigSchema } from '../../gateway/src/config.js';
import { ConfigError, parseConfig } from '../config.js';
import { subgraphConfigSchema } from '../service-config.js';

const userSchema = subgraphConfigSchema('user', 4001);

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
    expect(() => parseConfig(gatewayConfigSchema, { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) })).toThrow(/GATEWAY_SECRET/);
    const config = parseConfig(gatewayConfigSchema, { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), GATEWAY_SECRET: 'y'.repeat(40) });
    expect(config.JWT_SECRET).toBe('x'.repeat(40));
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
